// Where a JSON text is broken. JSON.parse in Node 20 does not always say
// where (`Unexpected token '}', "..." is not valid JSON`), so a small scanner
// finds the first offending offset and says what was expected there.

export interface JsonSyntaxError {
  offset: number;
  line: number;
  column: number;
  reason: string;
}

class Stop {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {}
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

function scan(text: string): void {
  const n = text.length;
  let i = 0;
  const ws = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const describe = (at: number): string => (at >= n ? 'end of input' : `character ${JSON.stringify(text[at])}`);

  const string = (): void => {
    i++;
    while (i < n) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new Stop(i, 'bad \\u escape: four hex digits expected');
          i += 6;
          continue;
        }
        if (e === undefined || !ESCAPES.has(e)) throw new Stop(i, 'bad escape in string');
        i += 2;
        continue;
      }
      if (c < ' ') throw new Stop(i, 'control character in string: write it escaped (e.g. \\n)');
      i++;
    }
    throw new Stop(i, 'unterminated string');
  };

  const value = (): void => {
    ws();
    if (i >= n) throw new Stop(i, 'unexpected end of input: a value is expected');
    const c = text[i]!;
    if (c === '{') return object();
    if (c === '[') return array();
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) throw new Stop(i, 'invalid number');
      i = NUMBER.lastIndex;
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    throw new Stop(i, `unexpected ${describe(i)}: a value is expected`);
  };

  const object = (): void => {
    i++;
    ws();
    if (text[i] === '}') {
      i++;
      return;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') throw new Stop(i, `unexpected ${describe(i)}: a double-quoted property name is expected`);
      string();
      ws();
      if (text[i] !== ':') throw new Stop(i, `unexpected ${describe(i)}: ':' is expected after a property name`);
      i++;
      value();
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return;
      }
      throw new Stop(i, `unexpected ${describe(i)}: ',' or '}' is expected after a property value`);
    }
  };

  const array = (): void => {
    i++;
    ws();
    if (text[i] === ']') {
      i++;
      return;
    }
    for (;;) {
      value();
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return;
      }
      throw new Stop(i, `unexpected ${describe(i)}: ',' or ']' is expected after an array element`);
    }
  };

  value();
  ws();
  if (i < n) throw new Stop(i, `unexpected ${describe(i)} after the end of the JSON value`);
}

/** 1-based line and column of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text[k] === '\n') {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** The first syntax error of `text`, or undefined when it is valid JSON (or too deep to scan). */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  try {
    scan(text);
    return undefined;
  } catch (err) {
    if (err instanceof Stop) return { offset: err.offset, ...lineColumn(text, err.offset), reason: err.reason };
    return undefined;
  }
}
