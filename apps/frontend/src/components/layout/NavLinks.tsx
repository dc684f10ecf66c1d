import { NavLink } from 'react-router';
import { useSession } from '@/auth/useSession';
import { cn } from '@/lib/utils';
import { navItemsFor, type NavItem } from './nav-items';

function NavIcon({ icon }: { icon: NavItem['icon'] }) {
  const Icon = icon;
  return <Icon className="size-4" aria-hidden="true" />;
}

export function NavLinks({ className }: { className?: string }) {
  const { principal } = useSession();
  return (
    <ul className={cn('flex items-center gap-1', className)}>
      {navItemsFor(principal?.role).map(({ to, label, icon }) => (
        <li key={to}>
          <NavLink
            to={to}
            className={({ isActive }) =>
              cn(
                'flex items-center gap-2 rounded-md px-3 py-2 text-sm font-medium transition-colors hover:bg-muted focus-visible:outline-2 focus-visible:outline-ring',
                isActive ? 'bg-primary/15 text-primary' : 'text-muted-foreground',
              )
            }
          >
            <NavIcon icon={icon} />
            {label}
          </NavLink>
        </li>
      ))}
    </ul>
  );
}
