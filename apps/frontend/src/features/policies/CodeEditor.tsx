// The policy source editor: CodeMirror 6 with Rego highlighting and compile errors as lint
// diagnostics (underline + gutter marker). Loaded on demand (see LazyCodeEditor), so
// CodeMirror stays out of the main bundle.
import { setDiagnostics, lintGutter, type Diagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { useEffect, useRef } from 'react';
import { locationRange, type PolicyLocation } from './policy-location';
import { rego } from './rego-language';

export interface CodeEditorProps {
  value: string;
  onChange: (value: string) => void;
  /** Places to mark: compile errors at their line and column. */
  problems?: readonly PolicyLocation[];
  /** The accessible name of the editing area. */
  label: string;
  read_only?: boolean;
}

const theme = EditorView.theme({
  '&': {
    backgroundColor: 'var(--background)',
    color: 'var(--foreground)',
    fontSize: '13px',
    border: '1px solid var(--input)',
    borderRadius: 'calc(var(--radius) - 2px)',
  },
  '&.cm-focused': { outline: '2px solid var(--ring)', outlineOffset: '1px' },
  '.cm-scroller': { fontFamily: 'var(--font-mono)', minHeight: '16rem', maxHeight: '32rem' },
  '.cm-content': { caretColor: 'var(--foreground)' },
  '.cm-gutters': {
    backgroundColor: 'var(--muted)',
    color: 'var(--muted-foreground)',
    borderRight: '1px solid var(--border)',
  },
  '.cm-activeLine, .cm-activeLineGutter': {
    backgroundColor: 'color-mix(in oklch, var(--primary) 8%, transparent)',
  },
  '.cm-selectionBackground, &.cm-focused .cm-selectionBackground': {
    backgroundColor: 'color-mix(in oklch, var(--primary) 25%, transparent) !important',
  },
  '.cm-lintRange-error': {
    backgroundColor: 'color-mix(in oklch, var(--destructive) 18%, transparent)',
  },
  '.cm-tooltip': {
    backgroundColor: 'var(--popover)',
    color: 'var(--popover-foreground)',
    border: '1px solid var(--border)',
  },
});

function diagnosticsFor(text: string, problems: readonly PolicyLocation[]): Diagnostic[] {
  return problems.map((problem) => ({
    ...locationRange(text, problem),
    severity: 'error',
    message: `Line ${problem.line}, column ${problem.column}: ${problem.message}`,
    source: 'rego',
  }));
}

export default function CodeEditor({
  value,
  onChange,
  problems = [],
  label,
  read_only = false,
}: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const on_change = useRef(onChange);

  useEffect(() => {
    on_change.current = onChange;
  }, [onChange]);

  // One editor for the component's life; later values and problems are dispatched to it.
  useEffect(() => {
    if (host.current === null) return;
    const editor = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          rego,
          lintGutter(),
          theme,
          EditorState.readOnly.of(read_only),
          EditorView.contentAttributes.of({ 'aria-label': label }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) on_change.current(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
    // The value and problems that follow are applied by the effects below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [label, read_only]);

  useEffect(() => {
    const editor = view.current;
    if (editor === null) return;
    const current = editor.state.doc.toString();
    if (current !== value) {
      editor.dispatch({ changes: { from: 0, to: current.length, insert: value } });
    }
  }, [value]);

  useEffect(() => {
    const editor = view.current;
    if (editor === null) return;
    const text = editor.state.doc.toString();
    editor.dispatch(setDiagnostics(editor.state, diagnosticsFor(text, problems)));
  }, [problems]);

  return <div ref={host} data-testid="code-editor" />;
}
