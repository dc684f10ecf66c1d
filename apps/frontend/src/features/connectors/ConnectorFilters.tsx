import { Search } from 'lucide-react';
import type { ConnectorType } from '@/api/connectors-contract';
import { Input } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { NativeSelect } from '@/components/ui/native-select';

interface ConnectorFiltersProps {
  search: string;
  onSearchChange: (search: string) => void;
  type: string;
  onTypeChange: (type: string) => void;
  types: ConnectorType[];
}

export function ConnectorFilters({
  search,
  onSearchChange,
  type,
  onTypeChange,
  types,
}: ConnectorFiltersProps) {
  return (
    <div className="grid gap-3 sm:grid-cols-[1fr_14rem]">
      <div className="grid gap-1.5">
        <Label htmlFor="connector-search">Search by name</Label>
        <div className="relative">
          <Search
            aria-hidden="true"
            className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-muted-foreground"
          />
          <Input
            id="connector-search"
            type="search"
            className="pl-8"
            placeholder="e.g. crm"
            value={search}
            onChange={(event) => onSearchChange(event.target.value)}
          />
        </div>
      </div>
      <div className="grid gap-1.5">
        <Label htmlFor="connector-type-filter">Type</Label>
        <NativeSelect
          id="connector-type-filter"
          value={type}
          onChange={(event) => onTypeChange(event.target.value)}
        >
          <option value="">All types</option>
          {types.map((item) => (
            <option key={item.type} value={item.type}>
              {item.title}
            </option>
          ))}
        </NativeSelect>
      </div>
    </div>
  );
}
