import { Link } from 'react-router';
import { GrimosLogo } from './GrimosLogo';
import { MobileNav } from './MobileNav';
import { NavLinks } from './NavLinks';
import { ThemeToggle } from './ThemeToggle';
import { UserMenu } from './UserMenu';

export function Header() {
  return (
    <header className="sticky top-0 z-40 border-b bg-background/85 backdrop-blur">
      <div className="mx-auto flex h-14 max-w-6xl items-center gap-2 px-4">
        <MobileNav />
        <Link
          to="/connectors"
          className="rounded-md focus-visible:outline-2 focus-visible:outline-ring"
          aria-label="grimOS home"
        >
          <GrimosLogo />
        </Link>
        <nav aria-label="Main" className="ml-4 hidden md:block">
          <NavLinks />
        </nav>
        <div className="ml-auto flex items-center gap-1">
          <ThemeToggle />
          <UserMenu />
        </div>
      </div>
    </header>
  );
}
