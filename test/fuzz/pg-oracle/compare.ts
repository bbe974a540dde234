import { Decimal } from 'decimal.js';
import { canonicalDecimal, policyNumber } from './schema.js';
import type { OutCol } from './merge-sql.js';

/**
 * Judging tributary's rows against the oracle's: PostgreSQL's text cells become the values
 * the values policy promises (exactly: a number where a double holds the value, else the
 * canonical decimal string), and an average is the exact quotient rounded once — to the
 * nearest double, or to 34 significant digits when its group held decimal strings.
 */

const Quotient = Decimal.clone({ precision: 34, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -9e15, toExpPos: 9e15 });

/** The expected value of one oracle cell; an average stays its exact text (see `avgMatches`). */
export function expectedCell(col: OutCol, text: string | null): unknown {
  if (text === null) return null;
  switch (col.type) {
    case 'int':
    case 'big':
    case 'num':
      return policyNumber(text);
    case 'bool':
      return text === 'true';
    case 'avg':
      return { avg: canonicalDecimal(text) };
    case 'nest': {
      const children = col.children ?? [];
      const rows = JSON.parse(text) as (string | null)[][];
      return { nest: rows.map((row) => children.map((c, i) => expectedCell(c, row[i] ?? null))), names: children.map((c) => c.name) };
    }
    default:
      return text;
  }
}

function avgMatches(exact: string, actual: unknown): boolean {
  const rounded = new Quotient(exact).plus(0);
  const as34 = policyNumber(rounded.toFixed());
  if (typeof actual === 'number') return actual === Number(exact) || actual === as34;
  return actual === as34;
}

function cellMatches(expected: unknown, actual: unknown): boolean {
  if (expected !== null && typeof expected === 'object' && 'avg' in expected) return actual !== null && avgMatches(String(expected.avg), actual);
  if (expected !== null && typeof expected === 'object' && 'nest' in expected && 'names' in expected) {
    if (!Array.isArray(actual)) return false;
    const names = expected.names as string[];
    // A nested row is the child's own row object; one from a union input may lack a column.
    const got = (actual as Record<string, unknown>[]).map((row) => names.map((n) => (Object.prototype.hasOwnProperty.call(row, n) ? row[n] : null)));
    return sameMultiset(expected.nest as unknown[][], got);
  }
  return Object.is(expected, actual) || (expected === 0 && actual === 0);
}

const same = (e: unknown[], a: unknown[]): boolean => e.length === a.length && e.every((v, i) => cellMatches(v, a[i]));

/** Exact cells as a bucket key (averages and nests are matched within the bucket). */
const exactKey = (row: unknown[], approximate: boolean[]): string => JSON.stringify(row.map((v, i) => (approximate[i] ? '?' : typeof v === 'number' && v === 0 ? 0 : v)));

/** Whether each expected row matches its own actual row. */
function sameMultiset(expected: unknown[][], got: unknown[][]): boolean {
  if (expected.length !== got.length) return false;
  if (expected.length === 0) return true;
  const approximate = (expected[0] as unknown[]).map((_, i) => expected.some((e) => e[i] !== null && typeof e[i] === 'object'));
  const buckets = new Map<string, { row: unknown[]; used: boolean }[]>();
  for (const row of got) {
    const key = exactKey(row, approximate);
    buckets.set(key, [...(buckets.get(key) ?? []), { row, used: false }]);
  }
  for (const e of expected) {
    const candidates = buckets.get(exactKey(e, approximate)) ?? [];
    const found = candidates.find((c) => !c.used && same(e, c.row));
    if (!found) return false;
    found.used = true;
  }
  return true;
}

function show(v: unknown): string {
  if (v !== null && typeof v === 'object' && 'avg' in v) return `avg≈${String(v.avg)}`;
  if (v !== null && typeof v === 'object' && 'nest' in v) return `nest${JSON.stringify(v.nest)}`;
  return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? JSON.stringify(v) : String(v);
}
const rowText = (row: unknown[]): string => `[${row.map(show).join(', ')}]`;

/** A description of how `actual` differs from the oracle's rows, or undefined. */
export interface Leeway {
  /** A streamed bare union's row lacks the columns of inputs that had not shown theirs yet (README, "Columns while streaming"). */
  streamed: boolean;
  /**
   * A fragment ran no query (its bound list was empty), so it named no columns: its columns
   * may be missing from the result (README, `$from`), where the oracle must have only nulls.
   */
  unnamed: boolean;
}

export function differ(all: OutCol[], oracle: (string | null)[][], actualColumns: readonly string[], actual: readonly Record<string, unknown>[], ordered: boolean, leeway: Leeway): string | undefined {
  const kept = leeway.unnamed ? all.map((c, i) => ({ c, i })).filter(({ c }) => actualColumns.includes(c.name)) : all.map((c, i) => ({ c, i }));
  const cols = kept.map(({ c }) => c);
  const names = cols.map((c) => c.name);
  // Without a fragment's names a union orders its columns by the inputs that showed theirs.
  const listed = leeway.unnamed ? [...actualColumns].sort().join() === [...names].sort().join() : JSON.stringify(actualColumns) === JSON.stringify(names);
  if (!listed) return `columns ${JSON.stringify(actualColumns)}, expected ${JSON.stringify(all.map((c) => c.name))}`;
  const dropped = all.findIndex((c, i) => !kept.some((k) => k.i === i) && oracle.some((row) => row[i] !== null));
  if (dropped >= 0) return `column ${all[dropped]?.name} is missing but the oracle has values in it`;
  const expected = oracle.map((row) => kept.map(({ c, i }) => expectedCell(c, row[i] ?? null)));
  const missing = leeway.streamed ? null : undefined;
  const got = actual.map((row) => names.map((n) => (Object.prototype.hasOwnProperty.call(row, n) ? row[n] : missing)));
  const report = () => `expected ${expected.length} rows${ordered ? ' in order' : ''}:\n    ${expected.slice(0, 20).map(rowText).join('\n    ')}\n  got ${got.length}:\n    ${got.slice(0, 20).map(rowText).join('\n    ')}`;
  if (expected.length !== got.length) return report();
  if (ordered) return expected.every((e, i) => same(e, got[i] as unknown[])) ? undefined : report();
  return sameMultiset(expected, got) ? undefined : report();
}
