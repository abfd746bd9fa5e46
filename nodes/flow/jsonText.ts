import { errorMessage } from './messages';

// A flow document as text: the canonical bytes written, and text read back with the line and column of a syntax error.

/** The canonical bytes of a flow document: what export writes and the runtime stores. */
export function serializeFlow(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** JSON text parsed, or where (1-based) and why it is not JSON. */
export type ParsedText = { ok: true; value: unknown } | { ok: false; line: number; column: number; message: string };

/** Parses JSON text; on a syntax error, says where (1-based line and column) and what, the same on every Node version. */
export function parseFlowText(text: string): ParsedText {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(source) };
  } catch (error) {
    const found = locateJsonError(source);
    if (found) return { ok: false, ...lineAndColumn(source, found.position), message: found.message };
    // JSON.parse refused something the scanner accepts; keep its own words and position, if it gave one.
    const message = errorMessage(error);
    const position = /at position (\d+)/.exec(message);
    return {
      ok: false,
      ...lineAndColumn(source, position ? Number(position[1]) : source.length),
      message: message.replace(/ in JSON at position \d+.*$/, ''),
    };
  }
}

function lineAndColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let index = text.indexOf('\n'); index !== -1 && index < position; index = text.indexOf('\n', index + 1)) {
    line += 1;
    lineStart = index + 1;
  }
  return { line, column: position - lineStart + 1 };
}

/**
 * Finds the first syntax error of JSON text with a small iterative scanner: V8's messages change between Node
 * versions and some carry no position at all, and a user needs the line and column.
 */
function locateJsonError(text: string): { position: number; message: string } | null {
  const length = text.length;
  const containers: Array<'object' | 'array'> = [];
  let at = 0;
  const fail = (message: string) => ({ position: at, message });
  const ended = () => ({ position: length, message: 'the text ends too early: a bracket, brace or quote is not closed' });
  const skipSpace = () => {
    for (let code = text.charCodeAt(at); code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09; code = text.charCodeAt(at)) at += 1;
  };
  const shown = () => {
    const char = String.fromCodePoint(text.codePointAt(at) ?? 0);
    if (char === '"') return `'"'`;
    return /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(char) ? `"${char}"` : `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  };
  const numberPattern = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

  const scanString = (): { position: number; message: string } | null => {
    at += 1;
    for (;;) {
      if (at >= length) return ended();
      const code = text.charCodeAt(at);
      if (code === 0x22) {
        at += 1;
        return null;
      }
      if (code < 0x20) return fail('a line break or control character inside text: write it as \\n, \\t or \\u00XX');
      if (code === 0x5c) {
        const next = text[at + 1];
        if (next === undefined) return ended();
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 2, at + 6))) return fail('\\u must be followed by four hexadecimal digits');
          at += 6;
        } else if ('"\\/bfnrt'.includes(next)) {
          at += 2;
        } else {
          return fail(`unknown escape \\${next}: inside text, only \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX are allowed`);
        }
        continue;
      }
      at += 1;
    }
  };

  // A property name and its colon. A "}" where the name should be can only follow a comma: `{}` is read as a value.
  const scanKey = (): { position: number; message: string } | null => {
    if (at >= length) return ended();
    if (text[at] !== '"') {
      const hint = text[at] === '}' ? ' (a comma before "}" is not allowed)' : '';
      return fail(`expected a property name in double quotes, found ${shown()}${hint}`);
    }
    const problem = scanString();
    if (problem) return problem;
    skipSpace();
    if (at >= length) return ended();
    if (text[at] !== ':') return fail(`expected ":" after the property name, found ${shown()}`);
    at += 1;
    return null;
  };

  // Each turn reads one value, then the punctuation after it, keeping open containers on an explicit stack.
  for (;;) {
    skipSpace();
    if (at >= length) return ended();
    const char = text[at] as string;
    if (char === '{' || char === '[') {
      at += 1;
      skipSpace();
      const closing = char === '{' ? '}' : ']';
      if (text[at] === closing) {
        at += 1;
      } else {
        containers.push(char === '{' ? 'object' : 'array');
        if (char === '{') {
          const problem = scanKey();
          if (problem) return problem;
        }
        continue;
      }
    } else if (char === '"') {
      const problem = scanString();
      if (problem) return problem;
    } else if (char === '-' || (char >= '0' && char <= '9')) {
      numberPattern.lastIndex = at;
      if (!numberPattern.test(text)) return fail(`${shown()} does not start a valid number`);
      at = numberPattern.lastIndex;
    } else if (text.startsWith('true', at) || text.startsWith('null', at)) {
      at += 4;
    } else if (text.startsWith('false', at)) {
      at += 5;
    } else {
      const hint = char === '}' || char === ']' ? ' (a comma before it is not allowed)' : char === "'" ? ' (text must be in double quotes)' : '';
      return fail(`expected a value, found ${shown()}${hint}`);
    }

    // After a value: close containers, or go on to the next entry.
    for (;;) {
      skipSpace();
      const open = containers[containers.length - 1];
      if (open === undefined) return at < length ? fail(`unexpected ${shown()} after the end of the document`) : null;
      if (at >= length) return ended();
      const closing = open === 'object' ? '}' : ']';
      if (text[at] === closing) {
        containers.pop();
        at += 1;
        continue;
      }
      if (text[at] !== ',') {
        const hint = '"{['.includes(text[at] as string) ? ' (is a comma missing before it?)' : '';
        return fail(`expected "," or "${closing}" after the value, found ${shown()}${hint}`);
      }
      at += 1;
      if (open === 'object') {
        skipSpace();
        const problem = scanKey();
        if (problem) return problem;
      }
      break;
    }
  }
}
