import { lazy, Suspense } from 'react';
import { Skeleton } from '@/components/ui/skeleton';
import type { CodeEditorProps } from './CodeEditor';

// CodeMirror is only fetched when an editor is shown (its own chunk, not the main bundle).
const CodeEditor = lazy(() => import('./CodeEditor'));

export function LazyCodeEditor(props: CodeEditorProps) {
  return (
    <Suspense fallback={<Skeleton className="h-64" />}>
      <CodeEditor {...props} />
    </Suspense>
  );
}
