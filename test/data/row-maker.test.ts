import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMPILE_MIN_ROWS, genericMaker, rowMaker, type ColumnFrom } from '../../src/data/row-maker.js';
import type { Row } from '../../src/data/row.js';
import { evaluateMerge, type MergeNode } from '../../src/index.js';

/** The definition, written without any of the maker's shortcuts. */
function reference(columns: readonly ColumnFrom[], a: Row, b: Row | undefined): Row {
  const out: Row = {};
  for (const c of columns) {
    const row = c.from === 0 ? a : b;
    const value = row !== undefined && Object.hasOwn(row, c.column) ? row[c.column] : undefined;
    Object.defineProperty(out, c.as, { value: value ?? null, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Own enumerable entries in order, with the prototype: what a row "is" to a caller. */
function shape(row: Row): { proto: unknown; entries: [string, unknown][] } {
  return { proto: Object.getPrototypeOf(row), entries: Object.entries(row) };
}

// Names that are code in a string, members of Object.prototype, the prototype setter,
// integer-like keys, quotes, backslashes and line separators.
const hostile = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '0', '7', '"', '\\', "'", '`${x}`', '"]; globalThis.pwned = 1; ["', '\u2028', '\u2029', 'a.b', ' ', ''];
const name = fc.oneof(fc.constantFrom(...hostile), fc.constantFrom('id', 'v', 'x'), fc.string({ maxLength: 4 }));
const value = fc.oneof(fc.integer(), fc.string({ maxLength: 3 }), fc.constantFrom(null, undefined, 0, -0, Number.NaN, 1n, true), fc.double());

/** A row in one of the forms a source may hand over: plain, null-prototype, class instance, with inherited columns. */
const rowOf = (names: string[]): fc.Arbitrary<Row> =>
  fc.tuple(fc.array(fc.tuple(fc.constantFrom(...names), value), { maxLength: names.length + 2 }), fc.constantFrom('plain', 'null', 'class', 'inherits')).map(([pairs, kind]) => {
    const row: Row = kind === 'null' ? (Object.create(null) as Row) : kind === 'class' ? (new (class Rowish {})() as Row) : kind === 'inherits' ? (Object.create({ id: 'inherited', v: 9 }) as Row) : {};
    for (const [k, v] of pairs) Object.defineProperty(row, k, { value: v, enumerable: true, writable: true, configurable: true });
    return row;
  });

const layoutAndRows = fc.uniqueArray(name, { minLength: 1, maxLength: 6 }).chain((outNames) =>
  fc.tuple(
    fc.tuple(...outNames.map((as) => fc.record({ from: fc.constantFrom<0 | 1>(0, 1), column: name, as: fc.constant(as) }))),
    fc.array(name, { minLength: 1, maxLength: 6 }),
  ).chain(([columns, inputNames]) => {
    const names = [...new Set([...inputNames, ...columns.map((c) => c.column)])];
    return fc.tuple(fc.constant(columns as ColumnFrom[]), rowOf(names), fc.option(rowOf(names), { nil: undefined }));
  }),
);

describe('rowMaker', () => {
  it('compiled and generic makers build exactly the rows of the definition, whatever the names and rows', () => {
    fc.assert(
      fc.property(layoutAndRows, ([columns, a, b]) => {
        const expected = shape(reference(columns, a, b));
        const compiled = rowMaker(columns, COMPILE_MIN_ROWS);
        expect(shape(compiled(a, b))).toEqual(expected);
        expect(shape(genericMaker(columns)(a, b))).toEqual(expected);
        // Inputs are never changed, and nothing reached the global object.
        expect((globalThis as { pwned?: unknown }).pwned).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('compiles a layout once and reuses it, and leaves small inputs to the generic maker', () => {
    const columns: ColumnFrom[] = [
      { from: 0, column: 'id', as: 'id' },
      { from: 1, column: 'id', as: 'r.id' },
    ];
    expect(rowMaker(columns, COMPILE_MIN_ROWS)).toBe(rowMaker([...columns], COMPILE_MIN_ROWS));
    expect(rowMaker(columns, COMPILE_MIN_ROWS - 1)).not.toBe(rowMaker(columns, COMPILE_MIN_ROWS));
  });

  it('a row with a __proto__ column keeps it as data, its prototype untouched, on the compiled path too', () => {
    const rows: Row[] = [];
    for (let i = 0; i < COMPILE_MIN_ROWS * 2; i++) {
      const row: Row = { id: i };
      Object.defineProperty(row, '__proto__', { value: { polluted: true }, enumerable: true, writable: true, configurable: true });
      rows.push(row);
    }
    const out = evaluateMerge({ op: 'project', input: 'rows', columns: ['id', '__proto__'] }, new Map([['rows', rows]]));
    expect(out.rows).toHaveLength(rows.length);
    for (const row of out.rows) {
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(row, '__proto__')?.value).toEqual({ polluted: true });
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('a join of more rows than the threshold gives the same rows as the same join below it', () => {
    const n = COMPILE_MIN_ROWS * 3;
    const left = Array.from({ length: n }, (_, i): Row => ({ id: i % 97, a: i, constructor: i % 2 === 0 ? 'own' : undefined }));
    const right = Array.from({ length: 97 }, (_, i): Row => (i % 5 === 0 ? (Object.assign(Object.create(null), { id: i, b: `b${i}` }) as Row) : { id: i, b: `b${i}`, a: -i }));
    const spec: MergeNode = { op: 'join', type: 'left', left: 'l', right: 'r', on: [['id', 'id']] };
    const whole = evaluateMerge(spec, new Map([['l', left], ['r', right]])).rows;
    const parts = [];
    for (let i = 0; i < n; i += 100) parts.push(...evaluateMerge(spec, new Map([['l', left.slice(i, i + 100)], ['r', right]])).rows);
    expect(whole.map(shape)).toEqual(parts.map(shape));
    expect(whole[0]).toEqual({ id: 0, a: 0, constructor: 'own', 'r.id': 0, b: 'b0', 'r.a': null });
    expect(whole[1]).toMatchObject({ id: 1, a: 1, 'r.id': 1, b: 'b1', 'r.a': -1 });
    expect(Object.getOwnPropertyDescriptor(whole[1], 'constructor')?.value).toBeNull();
  });

  it('falls back to the generic maker where code generation is not allowed', () => {
    const script = `
      import { rowMaker, COMPILE_MIN_ROWS } from './src/data/row-maker.ts';
      const make = rowMaker([{ from: 0, column: 'id', as: 'id' }, { from: 1, column: 'b', as: 'b' }], COMPILE_MIN_ROWS);
      process.stdout.write(JSON.stringify([make({ id: 1 }, { b: 2 }), make({ id: 3 })]));
    `;
    const child = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('../..', import.meta.url), encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual([
      { id: 1, b: 2 },
      { id: 3, b: null },
    ]);
  });
});
