import type { ConnectorTestResult } from '@/api/connectors-contract';
import { toast } from '@/components/ui/toast-store';

export function toastTestResult(name: string, result: ConnectorTestResult): void {
  const latency = `${Math.round(result.latency_ms)} ms`;
  if (result.ok) toast.success(`${name}: connection OK`, latency);
  else toast.error(`${name}: connection failed (${latency})`, result.error ?? undefined);
}
