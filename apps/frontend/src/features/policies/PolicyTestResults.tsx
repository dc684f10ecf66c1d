import { CheckCircle2, XCircle } from 'lucide-react';
import type { PolicyTestOutcome } from '@/api/authz-contract';
import { Badge } from '@/components/ui/badge';
import { cn } from '@/lib/utils';

/** The outcome of every `test_*` rule: pass or fail, and why a test failed. */
export function PolicyTestResults({ outcomes }: { outcomes: PolicyTestOutcome[] }) {
  if (outcomes.length === 0) {
    return (
      <p className="text-sm text-muted-foreground">
        The policy has no tests: add rules named <code className="font-mono">test_…</code>.
      </p>
    );
  }
  const failed = outcomes.filter((outcome) => !outcome.passed).length;
  return (
    <div className="grid gap-2" aria-live="polite">
      <p className="text-sm">
        <Badge variant={failed === 0 ? 'success' : 'destructive'}>
          {failed === 0 ? 'All passed' : `${failed} failed`}
        </Badge>{' '}
        <span className="text-muted-foreground">
          {outcomes.length - failed} of {outcomes.length} passed
        </span>
      </p>
      <ul className="grid gap-1" aria-label="Test results">
        {outcomes.map((outcome) => (
          <li
            key={`${outcome.policy}.${outcome.test}`}
            data-passed={outcome.passed}
            className={cn(
              'flex items-start gap-2 rounded-md border px-3 py-2 text-sm',
              !outcome.passed && 'border-destructive/40 bg-destructive/10',
            )}
          >
            {outcome.passed ? (
              <CheckCircle2 aria-hidden="true" className="mt-0.5 size-4 shrink-0 text-success" />
            ) : (
              <XCircle aria-hidden="true" className="mt-0.5 size-4 shrink-0 text-destructive" />
            )}
            <div className="grid min-w-0">
              <span className="font-mono break-all">
                {outcome.test}{' '}
                <span className="sr-only">{outcome.passed ? 'passed' : 'failed'}</span>
              </span>
              {!outcome.passed && outcome.error && (
                <span className="text-destructive break-words">{outcome.error}</span>
              )}
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}
