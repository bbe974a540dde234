import { LRUCache } from 'lru-cache';
import type { Row } from './row.js';
import { getColumn, isPlainRow, plainName, readColumn, setColumn } from './row.js';

/** One output column: the value of `column` in input `from` (0 or 1), written as `as`. */
export interface ColumnFrom {
  from: 0 | 1;
  column: string;
  as: string;
}

/**
 * Builds one output row from one or two input rows. The output holds every `as` column, in
 * order: `null` where its input lacks the column, only inherits it or holds null or
 * undefined there, and in every column of a missing second input. Input rows are never
 * changed.
 */
export type RowMaker = (a: Row, b?: Row) => Row;

/**
 * Below this many rows a merge builds its rows with the generic maker: compiling one costs
 * tens of µs, and the generic maker is ~100 ns a row slower (bench c).
 */
export const COMPILE_MIN_ROWS = 256;

/** Compiled makers by their column layout, bounded: layouts come from data. */
const compiled = new LRUCache<string, RowMaker>({ max: 256 });

/** Whether this process lets code be generated (`--disallow-code-generation-from-strings`, a CSP). */
let codegen = true;

/**
 * The row maker for `columns`. For `rows` of at least `COMPILE_MIN_ROWS`, a function compiled
 * for this layout (cached by it), whose object literal gives every output row one shape and
 * whose property reads each see one name: the generic maker's reads and writes go through
 * names that change column by column, which V8 cannot specialize (a join of 100k rows spent
 * a third of its time there). Names are written into the code as JSON string literals, so
 * no column name can be read as code; a layout writing a `__proto__` column is never
 * compiled (a literal would set the prototype), and a column that is a member of
 * `Object.prototype` is read as an own property only, as `readColumn` reads it. Rows whose
 * prototype is not `Object.prototype` or null go to the generic maker.
 */
export function rowMaker(columns: readonly ColumnFrom[], rows: number): RowMaker {
  if (!codegen || rows < COMPILE_MIN_ROWS || columns.length > 256 || columns.some((c) => c.as === '__proto__')) return genericMaker(columns);
  const key = JSON.stringify(columns.map((c) => [c.from, c.column, c.as]));
  const cached = compiled.get(key);
  if (cached !== undefined) return cached;
  const generic = genericMaker(columns);
  const maker = compile(columns, generic);
  if (maker === undefined) return generic;
  compiled.set(key, maker);
  return maker;
}

/** The maker of rows holding exactly `columns` of one input, under their own names. */
export function pickMaker(columns: readonly string[], rows: number): RowMaker {
  return rowMaker(
    columns.map((column): ColumnFrom => ({ from: 0, column, as: column })),
    rows,
  );
}

function compile(columns: readonly ColumnFrom[], generic: RowMaker): RowMaker | undefined {
  const read = (c: ColumnFrom, missing: boolean): string => {
    if (missing) return 'null';
    const input = c.from === 0 ? 'a' : 'b';
    const name = JSON.stringify(c.column);
    return plainName(c.column) ? `${input}[${name}] ?? null` : `getColumn(${input}, ${name}) ?? null`;
  };
  const literal = (withB: boolean): string => `{ ${columns.map((c) => `${JSON.stringify(c.as)}: ${read(c, c.from === 1 && !withB)}`).join(', ')} }`;
  const body = [
    '"use strict";',
    'return function makeRow(a, b) {',
    '  if (!isPlainRow(a) || (b !== undefined && !isPlainRow(b))) return generic(a, b);',
    `  if (b === undefined) return ${literal(false)};`,
    `  return ${literal(true)};`,
    '};',
  ].join('\n');
  try {
    const factory = new Function('isPlainRow', 'getColumn', 'generic', body) as (p: typeof isPlainRow, c: typeof getColumn, g: RowMaker) => RowMaker;
    return factory(isPlainRow, getColumn, generic);
  } catch (error) {
    // Code generation is not allowed here: the generic maker, from now on.
    if (error instanceof EvalError) codegen = false;
    return undefined;
  }
}

/** The maker for any layout and any row: a copy of a template row, then each column set. */
export function genericMaker(columns: readonly ColumnFrom[]): RowMaker {
  // Every output row starts as a copy of a template holding each column (null) in order,
  // so rows share one shape and no property is added one at a time.
  const template: Row = {};
  for (const c of columns) setColumn(template, c.as, null);
  const plain = columns.map((c) => plainName(c.column));
  return (a, b) => {
    const out: Row = { ...template };
    for (let k = 0; k < columns.length; k++) {
      const c = columns[k] as ColumnFrom;
      const row = c.from === 0 ? a : b;
      if (row === undefined) continue;
      const value = readColumn(row, c.column, plain[k] as boolean);
      if (value === undefined || value === null) continue;
      setColumn(out, c.as, value);
    }
    return out;
  };
}
