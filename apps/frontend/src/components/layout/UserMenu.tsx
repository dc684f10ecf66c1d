import { ChevronDown, LogOut, UserRound } from 'lucide-react';
import { useSession } from '@/auth/useSession';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from '@/components/ui/dropdown-menu';

/** The signed-in user's name and role, and sign out. */
export function UserMenu() {
  const { principal, signOut } = useSession();
  if (principal === null) return null;
  return (
    <div className="flex items-center gap-2">
      <div className="hidden items-center gap-2 sm:flex" data-testid="current-user">
        <span className="max-w-40 truncate text-sm font-medium">{principal.display_name}</span>
        <Badge variant="default">{principal.role}</Badge>
      </div>
      <DropdownMenu>
        <DropdownMenuTrigger asChild>
          <Button
            variant="ghost"
            size="sm"
            aria-label={`Account: ${principal.display_name} (${principal.role})`}
          >
            <UserRound aria-hidden="true" />
            <ChevronDown aria-hidden="true" />
          </Button>
        </DropdownMenuTrigger>
        <DropdownMenuContent align="end">
          <DropdownMenuLabel>
            <span className="block font-medium">{principal.display_name}</span>
            <span className="block text-xs text-muted-foreground">Role: {principal.role}</span>
          </DropdownMenuLabel>
          <DropdownMenuSeparator />
          <DropdownMenuItem onSelect={() => signOut()}>
            <LogOut aria-hidden="true" />
            Sign out
          </DropdownMenuItem>
        </DropdownMenuContent>
      </DropdownMenu>
    </div>
  );
}
