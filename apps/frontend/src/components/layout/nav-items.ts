import { Plug, ScrollText } from 'lucide-react';
import type { Role } from '@/api/types';

export interface NavItem {
  to: string;
  label: string;
  icon: typeof Plug;
  /** Only these roles see the entry (everyone, when absent). */
  roles?: readonly Role[];
}

/** Only what exists: more sections join as their APIs land. */
export const nav_items: readonly NavItem[] = [
  { to: '/connectors', label: 'Connectors', icon: Plug },
  { to: '/policies', label: 'Policies', icon: ScrollText, roles: ['admin'] },
];

/** The entries a caller with `role` sees. */
export function navItemsFor(role: Role | undefined): NavItem[] {
  return nav_items.filter(
    (item) => item.roles === undefined || (role !== undefined && item.roles.includes(role)),
  );
}
