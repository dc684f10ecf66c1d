// A tiny sonner-like notification store: `toast.success('Saved')` from anywhere.
export type ToastKind = 'success' | 'error' | 'info';

export interface ToastItem {
  id: number;
  kind: ToastKind;
  title: string;
  description?: string;
}

type Listener = (items: ToastItem[]) => void;

let items: ToastItem[] = [];
let next_id = 1;
const listeners = new Set<Listener>();
const DURATION_MS = 5000;

function emit(): void {
  for (const listener of listeners) listener(items);
}

export function dismissToast(id: number): void {
  items = items.filter((item) => item.id !== id);
  emit();
}

function show(kind: ToastKind, title: string, description?: string): number {
  const id = next_id++;
  items = [...items.slice(-3), { id, kind, title, description }];
  emit();
  setTimeout(() => dismissToast(id), DURATION_MS);
  return id;
}

export const toast = {
  success: (title: string, description?: string) => show('success', title, description),
  error: (title: string, description?: string) => show('error', title, description),
  info: (title: string, description?: string) => show('info', title, description),
};

export function subscribeToasts(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function currentToasts(): ToastItem[] {
  return items;
}
