import { CheckCircle2, CircleDashed, XCircle } from 'lucide-react';
import type { ConnectorLastTest } from '@/api/connectors-contract';
import { Badge } from '@/components/ui/badge';
import { formatAbsoluteTime, formatRelativeTime } from '@/lib/format-time';

/** The last connection test: ok/failed with when it ran, or "Not tested". */
export function ConnectorStatusBadge({ last_test }: { last_test: ConnectorLastTest | null }) {
  if (last_test === null) {
    return (
      <Badge variant="secondary">
        <CircleDashed aria-hidden="true" />
        Not tested
      </Badge>
    );
  }
  return (
    <span className="inline-flex flex-wrap items-center gap-x-2 gap-y-1">
      {last_test.ok ? (
        <Badge variant="success">
          <CheckCircle2 aria-hidden="true" />
          OK
        </Badge>
      ) : (
        <Badge variant="destructive" title={last_test.error ?? undefined}>
          <XCircle aria-hidden="true" />
          Failed
        </Badge>
      )}
      <time
        dateTime={last_test.tested_at}
        title={formatAbsoluteTime(last_test.tested_at)}
        className="text-xs text-muted-foreground"
      >
        {formatRelativeTime(last_test.tested_at)}
      </time>
    </span>
  );
}
