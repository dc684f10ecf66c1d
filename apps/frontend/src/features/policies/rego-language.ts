// Rego v1 for CodeMirror: a small stream tokenizer (comments, strings, numbers, keywords,
// built-in documents, operators) — enough to read a policy, not a parser.
import { StreamLanguage, type StreamParser } from '@codemirror/language';

const KEYWORDS = new Set([
  'package',
  'import',
  'default',
  'if',
  'contains',
  'else',
  'not',
  'some',
  'every',
  'in',
  'with',
  'as',
]);
const ATOMS = new Set(['true', 'false', 'null']);
const DOCUMENTS = new Set(['input', 'data']);

interface RegoState {
  /** Inside a raw string (backquotes) that spans lines. */
  in_raw_string: boolean;
}

const rego_parser: StreamParser<RegoState> = {
  name: 'rego',
  startState: () => ({ in_raw_string: false }),
  token(stream, state) {
    if (state.in_raw_string) {
      if (stream.skipTo('`')) {
        stream.next();
        state.in_raw_string = false;
      } else {
        stream.skipToEnd();
      }
      return 'string';
    }
    if (stream.eatSpace()) return null;
    const next = stream.peek();
    if (next === '#') {
      stream.skipToEnd();
      return 'comment';
    }
    if (next === '"') {
      stream.next();
      let escaped = false;
      let character = stream.next();
      while (character !== undefined) {
        if (character === '"' && !escaped) break;
        escaped = !escaped && character === '\\';
        character = stream.next();
      }
      return 'string';
    }
    if (next === '`') {
      stream.next();
      if (stream.skipTo('`')) stream.next();
      else {
        stream.skipToEnd();
        state.in_raw_string = true;
      }
      return 'string';
    }
    if (stream.match(/^-?\d+(\.\d+)?([eE][+-]?\d+)?/)) return 'number';
    const word = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/);
    if (word) {
      const text = stream.current();
      if (KEYWORDS.has(text)) return 'keyword';
      if (ATOMS.has(text)) return 'atom';
      if (DOCUMENTS.has(text)) return 'variableName.special';
      if (stream.peek() === '(') return 'variableName.function';
      return 'variableName';
    }
    if (stream.match(/^(:=|==|!=|<=|>=|[=<>+\-*/%|&])/)) return 'operator';
    stream.next();
    return null;
  },
  languageData: { commentTokens: { line: '#' } },
};

export const rego = StreamLanguage.define(rego_parser);
