import { Skeleton } from '@/components/ui/skeleton';

export function ConnectorListSkeleton() {
  return (
    <div className="grid gap-3 p-4" aria-busy="true" aria-label="Loading connectors">
      {Array.from({ length: 5 }, (_, index) => (
        <div key={index} className="flex items-center gap-4">
          <Skeleton className="h-5 w-40" />
          <Skeleton className="h-5 w-14" />
          <Skeleton className="h-5 w-24" />
          <Skeleton className="ml-auto hidden h-5 w-20 md:block" />
        </div>
      ))}
    </div>
  );
}
