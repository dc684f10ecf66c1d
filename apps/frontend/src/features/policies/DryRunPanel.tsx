import { ShieldCheck, ShieldX } from 'lucide-react';
import { useId, useState, type SyntheticEvent } from 'react';
import type { DryRunReport, DryRunResult } from '@/api/authz-contract';
import { ErrorBanner } from '@/components/feedback/ErrorBanner';
import { Button } from '@/components/ui/button';
import { Label } from '@/components/ui/label';
import { Textarea } from '@/components/ui/textarea';
import { describeError } from '@/features/connectors/describe-error';
import { parseDryRunInputs } from './policy-draft';

const EXAMPLE = JSON.stringify(
  {
    subject: { id: 'user:ann', kind: 'user', roles: ['member'], groups: [], attributes: {} },
    action: 'delete',
    resource: { type: 'flow', id: '42', owner: 'user:bob', attributes: {} },
    context: { time: '2025-01-06T20:00:00Z' },
  },
  null,
  2,
);

interface DryRunPanelProps {
  /** Evaluate the inputs against the draft; rejects with the API's error. */
  onRun: (inputs: Record<string, unknown>[]) => Promise<DryRunReport>;
}

function verdict(result: DryRunResult): string {
  if (result.error) return 'could not be evaluated (so it is denied)';
  if (!result.denied) return 'no policy denies it';
  const count = result.denials.length;
  return `denied by ${count} rule${count === 1 ? '' : 's'}`;
}

function DryRunResults({ report }: { report: DryRunReport }) {
  return (
    <ol className="grid gap-2" aria-label="Dry-run results">
      {report.results.map((result, index) => (
        <li
          // The results come back in the order of the inputs.
          key={index}
          className="grid gap-1 rounded-md border p-3 text-sm"
        >
          <p className="flex items-center gap-2 font-medium">
            {result.denied ? (
              <ShieldX aria-hidden="true" className="size-4 text-destructive" />
            ) : (
              <ShieldCheck aria-hidden="true" className="size-4 text-success" />
            )}
            Input {index + 1}: {verdict(result)}
          </p>
          {result.error && <p className="text-destructive">{result.error}</p>}
          {result.denials.length > 0 && (
            <ul className="grid gap-1">
              {result.denials.map((denial, denial_index) => (
                <li
                  key={`${denial.rule}-${denial_index}`}
                  className="rounded-md border border-destructive/40 bg-destructive/10 px-2 py-1 text-destructive"
                >
                  <span className="font-mono text-xs">
                    {denial.rule}, line {denial.line}
                  </span>
                  <span className="block">{denial.message}</span>
                </li>
              ))}
            </ul>
          )}
        </li>
      ))}
    </ol>
  );
}

/** Evaluate the draft against request inputs typed as JSON, and show what each denies. */
export function DryRunPanel({ onRun }: DryRunPanelProps) {
  const id = useId();
  const [text, setText] = useState(EXAMPLE);
  const [input_error, setInputError] = useState<string | null>(null);
  const [run_error, setRunError] = useState<unknown>(null);
  const [running, setRunning] = useState(false);
  const [report, setReport] = useState<DryRunReport | null>(null);

  const submit = async (event: SyntheticEvent) => {
    event.preventDefault();
    let inputs: Record<string, unknown>[];
    try {
      inputs = parseDryRunInputs(text);
    } catch (error) {
      setInputError(error instanceof Error ? error.message : String(error));
      return;
    }
    setInputError(null);
    setRunError(null);
    setRunning(true);
    try {
      setReport(await onRun(inputs));
    } catch (error) {
      setReport(null);
      setRunError(error);
    } finally {
      setRunning(false);
    }
  };

  return (
    <form className="grid gap-3" aria-label="Dry run" onSubmit={(event) => void submit(event)}>
      <div className="grid gap-1.5">
        <Label htmlFor={`${id}-inputs`}>Inputs (one JSON object, or an array of them)</Label>
        <Textarea
          id={`${id}-inputs`}
          rows={10}
          spellCheck={false}
          value={text}
          aria-invalid={input_error !== null}
          aria-describedby={input_error === null ? undefined : `${id}-error`}
          onChange={(event) => setText(event.target.value)}
        />
        {input_error !== null && (
          <p id={`${id}-error`} className="text-sm text-destructive">
            {input_error}
          </p>
        )}
      </div>
      <div>
        <Button type="submit" variant="outline" disabled={running}>
          {running ? 'Running…' : 'Dry run'}
        </Button>
      </div>
      {run_error !== null && (
        <ErrorBanner title="Could not run the draft">{describeError(run_error)}</ErrorBanner>
      )}
      {report !== null && <DryRunResults report={report} />}
    </form>
  );
}
