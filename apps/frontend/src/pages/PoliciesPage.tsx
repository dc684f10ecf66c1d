import { Plus } from 'lucide-react';
import { Link } from 'react-router';
import { ApiError } from '@/api/api-error';
import { ErrorBanner } from '@/components/feedback/ErrorBanner';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { Skeleton } from '@/components/ui/skeleton';
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableRow,
} from '@/components/ui/table';
import { describeError } from '@/features/connectors/describe-error';
import { usePolicyList } from '@/features/policies/usePolicies';
import { formatAbsoluteTime, formatRelativeTime } from '@/lib/format-time';

export function PoliciesPage() {
  const list = usePolicyList();
  const forbidden = list.error instanceof ApiError && list.error.status === 403;

  return (
    <div className="grid gap-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Policies</h1>
          <p className="text-sm text-muted-foreground">
            Rego rules that deny what roles and relationships would allow: any deny wins.
          </p>
        </div>
        {!forbidden && (
          <Button asChild>
            <Link to="/policies/new">
              <Plus aria-hidden="true" />
              New policy
            </Link>
          </Button>
        )}
      </div>
      <Card className="overflow-hidden">
        {list.isPending && (
          <div className="grid gap-2 p-4" aria-busy="true">
            <Skeleton className="h-8" />
            <Skeleton className="h-8" />
          </div>
        )}
        {list.isError && (
          <div className="p-4">
            <ErrorBanner
              title={forbidden ? 'You may not manage policies' : 'Could not load the policies'}
              action={
                forbidden ? undefined : (
                  <Button variant="outline" size="sm" onClick={() => void list.refetch()}>
                    Try again
                  </Button>
                )
              }
            >
              {describeError(list.error)}
            </ErrorBanner>
          </div>
        )}
        {list.isSuccess && list.data.length === 0 && (
          <div className="grid justify-items-center gap-2 p-10 text-center">
            <p className="font-medium">No policies yet</p>
            <p className="max-w-md text-sm text-muted-foreground">
              Without policies, roles and relationships decide alone. Add one to deny by attributes,
              time or anything else in the request.
            </p>
          </div>
        )}
        {list.isSuccess && list.data.length > 0 && (
          <Table aria-label="Policies">
            <TableHeader>
              <TableRow className="hover:bg-transparent">
                <TableHead>Name</TableHead>
                <TableHead>Version</TableHead>
                <TableHead className="hidden md:table-cell">Last updated</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {list.data.map((policy) => (
                <TableRow key={policy.id}>
                  <TableCell className="font-medium">
                    <Link
                      to={`/policies/${policy.id}`}
                      className="rounded-sm font-mono hover:underline focus-visible:outline-2 focus-visible:outline-ring"
                    >
                      {policy.name}
                    </Link>
                  </TableCell>
                  <TableCell>
                    <Badge variant="secondary">v{policy.version}</Badge>
                  </TableCell>
                  <TableCell className="hidden text-muted-foreground md:table-cell">
                    <time
                      dateTime={policy.updated_at}
                      title={formatAbsoluteTime(policy.updated_at)}
                    >
                      {formatRelativeTime(policy.updated_at)}
                    </time>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </Card>
    </div>
  );
}
