import { Menu } from 'lucide-react';
import { useNavigate } from 'react-router';
import { Button } from '@/components/ui/button';
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuTrigger,
} from '@/components/ui/dropdown-menu';
import { useSession } from '@/auth/useSession';
import { navItemsFor } from './nav-items';

/** Below the `md` breakpoint the navigation collapses into this menu. */
export function MobileNav() {
  const navigate = useNavigate();
  const { principal } = useSession();
  return (
    <DropdownMenu>
      <DropdownMenuTrigger asChild>
        <Button variant="ghost" size="icon" className="md:hidden" aria-label="Open navigation menu">
          <Menu aria-hidden="true" />
        </Button>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="start">
        {navItemsFor(principal?.role).map((item) => {
          const Icon = item.icon;
          return (
            <DropdownMenuItem key={item.to} onSelect={() => void navigate(item.to)}>
              <Icon aria-hidden="true" />
              {item.label}
            </DropdownMenuItem>
          );
        })}
      </DropdownMenuContent>
    </DropdownMenu>
  );
}
