import { Plug } from 'lucide-react';

/** Only what exists: more sections join as their APIs land. */
export const nav_items = [{ to: '/connectors', label: 'Connectors', icon: Plug }] as const;
