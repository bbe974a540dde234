/**
 * Where a JSON text stops being JSON, as a line and column, for the command line's "not JSON"
 * messages. Node's own `JSON.parse` message quotes the text around the mistake, which in a
 * sources file may be a password; this says only where it is and what kind of mistake it is.
 */
export interface JsonSyntaxPosition {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  problem: string;
}

class Stop {
  constructor(
    readonly offset: number,
    readonly problem: string,
  ) {}
}

/** The first syntax error of `text`, or undefined when it is JSON. */
export function jsonSyntaxPosition(text: string): JsonSyntaxPosition | undefined {
  let i = 0;
  const fail = (problem: string): never => {
    throw new Stop(i, i >= text.length ? 'unexpected end of the text' : problem);
  };
  const space = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const expect = (c: string, problem: string): void => {
    if (text[i] !== c) fail(problem);
    i++;
  };
  const string = (): void => {
    i++;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) return void i++;
      if (c < 0x20) fail('a control character inside a string');
      if (c === 0x5c) {
        i++;
        const e = text[i];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail('a bad \\u escape');
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail('a bad escape');
      } else i++;
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '-') fail('a malformed number');
    i += m![0].length;
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') {
      i++;
      space();
      if (text[i] === '}') return void i++;
      for (;;) {
        space();
        if (text[i] !== '"') fail('expected a property name in double quotes');
        string();
        space();
        expect(':', "expected ':' after a property name");
        value();
        space();
        if (text[i] === '}') return void i++;
        expect(',', "expected ',' or '}' after a property value");
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        space();
        if (text[i] === ']') return void i++;
        expect(',', "expected ',' or ']' after an array element");
      }
    }
    if (c === '"') return string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) return void (i += word.length);
    }
    fail('unexpected character (a value must be an object, array, string, number, true, false or null)');
  };
  try {
    value();
    space();
    if (i < text.length) fail('unexpected text after the JSON value');
    return undefined;
  } catch (error) {
    // Nested too deep to scan here (a RangeError): no position, rather than a crash.
    if (!(error instanceof Stop)) return undefined;
    const before = text.slice(0, error.offset);
    const line = before.split('\n').length;
    return { line, column: error.offset - before.lastIndexOf('\n'), problem: error.problem };
  }
}

/** `not JSON: <problem> at line L, column C`, quoting nothing of the text. */
export function notJsonMessage(text: string): string {
  const at = jsonSyntaxPosition(text);
  return at ? `not JSON: ${at.problem} at line ${at.line}, column ${at.column}` : 'not JSON';
}
