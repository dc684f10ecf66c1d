import { ArrowLeft, CheckCircle2, CircleSlash, ShieldX } from 'lucide-react';
import { Fragment } from 'react';
import type { Decision, Reason } from '@/api/authz-contract';
import { Badge } from '@/components/ui/badge';
import { cn } from '@/lib/utils';
import { orderedReasons, reasonPath, reasonTitle, reasonTone } from './reasons';

/** A relation path as chips joined by arrows: object ← … ← subject. */
export function RelationPath({
  steps,
  label,
}: {
  steps: string[];
  label?: (step: string) => string;
}) {
  return (
    <ol className="flex flex-wrap items-center gap-1" aria-label="Relation path">
      {steps.map((step, index) => (
        <Fragment key={`${step}-${index}`}>
          {index > 0 && (
            <li aria-hidden="true" className="text-muted-foreground">
              <ArrowLeft className="size-3.5" />
            </li>
          )}
          <li>
            <Badge variant="outline" className="font-mono" title={step}>
              {label?.(step) ?? step}
            </Badge>
          </li>
        </Fragment>
      ))}
    </ol>
  );
}

function ReasonIcon({ reason }: { reason: Reason }) {
  const tone = reasonTone(reason);
  const class_name = 'mt-0.5 size-4 shrink-0';
  if (tone === 'deny')
    return <ShieldX aria-hidden="true" className={cn(class_name, 'text-destructive')} />;
  if (tone === 'none')
    return <CircleSlash aria-hidden="true" className={cn(class_name, 'text-muted-foreground')} />;
  return <CheckCircle2 aria-hidden="true" className={cn(class_name, 'text-success')} />;
}

export function ReasonItem({
  reason,
  allowed = true,
  label,
}: {
  reason: Reason;
  allowed?: boolean;
  label?: (step: string) => string;
}) {
  const tone = reasonTone(reason);
  const path = reasonPath(reason);
  // The policy and rule that denied: `hours · grimos.policies.hours.deny`.
  const denied_by = [reason.policy, reason.rule].filter(Boolean).join(' · ');
  return (
    <li
      data-kind={reason.kind}
      className={cn(
        'flex gap-2 rounded-md border p-3 text-sm',
        tone === 'deny' && 'border-destructive/40 bg-destructive/10 text-destructive',
      )}
    >
      <ReasonIcon reason={reason} />
      <div className="grid min-w-0 gap-1.5">
        <p className="font-medium">{reasonTitle(reason, allowed)}</p>
        {tone === 'deny' && denied_by !== '' && <p className="font-mono text-xs">{denied_by}</p>}
        {path.length > 0 ? (
          <RelationPath steps={path} label={label} />
        ) : (
          <p className={cn('break-words', tone !== 'deny' && 'text-muted-foreground')}>
            {reason.summary}
          </p>
        )}
      </div>
    </li>
  );
}

/** A decision: allowed or denied, and every reason, the deciding one first. */
export function DecisionView({
  decision,
  label,
}: {
  decision: Decision;
  label?: (step: string) => string;
}) {
  return (
    <div className="grid gap-2" aria-live="polite">
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <Badge variant={decision.allowed ? 'success' : 'destructive'}>
          {decision.allowed ? 'Allowed' : 'Denied'}
        </Badge>
        <span className="text-xs text-muted-foreground">at revision {decision.revision}</span>
      </div>
      <ul className="grid gap-2" aria-label="Reasons">
        {orderedReasons(decision.reasons).map((reason, index) => (
          <ReasonItem
            key={`${reason.kind}-${index}`}
            reason={reason}
            allowed={decision.allowed}
            label={label}
          />
        ))}
      </ul>
    </div>
  );
}
