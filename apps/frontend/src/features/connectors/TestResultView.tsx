import { CheckCircle2, XCircle } from 'lucide-react';
import type { ConnectorTestResult } from '@/api/connectors-contract';

/** The outcome of "Test connection": ok or failed, how long it took, and why it failed. */
export function TestResultView({ result }: { result: ConnectorTestResult }) {
  return (
    <div
      role="status"
      className={
        result.ok
          ? 'flex items-start gap-2 rounded-lg border border-success/40 bg-success/10 p-3 text-sm'
          : 'flex items-start gap-2 rounded-lg border border-destructive/40 bg-destructive/10 p-3 text-sm'
      }
    >
      {result.ok ? (
        <CheckCircle2 className="mt-0.5 size-4 shrink-0 text-success" aria-hidden="true" />
      ) : (
        <XCircle className="mt-0.5 size-4 shrink-0 text-destructive" aria-hidden="true" />
      )}
      <div className="min-w-0">
        <p className="font-medium">
          {result.ok ? 'Connection OK' : 'Connection failed'}{' '}
          <span className="font-normal text-muted-foreground">
            in {Math.round(result.latency_ms)} ms
          </span>
        </p>
        {result.error && <p className="mt-1 font-mono text-xs break-words">{result.error}</p>}
      </div>
    </div>
  );
}
