import fc from 'fast-check';
import { family, POOLS, policyNumber, type ColType } from './schema.js';

/**
 * Filter predicates for the PostgreSQL-oracle fuzz, built twice from one recipe: as a plan
 * predicate and as the SQL condition PostgreSQL evaluates with the same three-valued logic.
 * Literals are typed like the column they meet (a number column gets numbers and decimal
 * strings, a text column text, …), and text compares under `COLLATE "C"` (code point order).
 */

export type PredRecipe =
  | { t: 'cmp'; op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'; col: number; val: number }
  | { t: 'in'; col: number; vals: number[] }
  | { t: 'isNull'; col: number }
  | { t: 'and' | 'or'; ps: PredRecipe[] }
  | { t: 'not'; p: PredRecipe };

export const predArb: fc.Arbitrary<PredRecipe> = fc.letrec<{ pred: PredRecipe }>((tie) => ({
  pred: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'pred' },
    fc.record({ t: fc.constant('cmp' as const), op: fc.constantFrom('eq' as const, 'ne' as const, 'lt' as const, 'le' as const, 'gt' as const, 'ge' as const), col: fc.nat(), val: fc.nat() }),
    fc.record({ t: fc.constant('in' as const), col: fc.nat(), vals: fc.array(fc.nat(), { maxLength: 4 }) }),
    fc.record({ t: fc.constant('isNull' as const), col: fc.nat() }),
    fc.record({ t: fc.constantFrom('and' as const, 'or' as const), ps: fc.array(tie('pred'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ t: fc.constant('not' as const), p: tie('pred') }),
  ),
})).pred;

export interface TypedCol {
  name: string;
  type: ColType;
}

const PG_CAST: Record<ColType, string> = { int: 'numeric', big: 'numeric', num: 'numeric', text: 'text', bool: 'boolean', date: 'date', ts: 'timestamp' };
const NUMBER_LITERALS = [...new Set([...POOLS.int, ...POOLS.big, ...POOLS.num, '2.5', '-0.5'])];

export const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const sqlText = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/**
 * The `i`-th literal for a column of `type` (every 9th is null): its plan value and its
 * canonical text (`true`/`false` for booleans, null for NULL). Every oracle dialect spells
 * the same literal from it.
 */
export function planLiteral(type: ColType, i: number): { value: unknown; text: string | null } {
  if (i % 9 === 8) return { value: null, text: null };
  if (type === 'bool') return i % 2 === 0 ? { value: true, text: 'true' } : { value: false, text: 'false' };
  const pool = family(type) === 'number' ? NUMBER_LITERALS : POOLS[type];
  const text = pool[i % pool.length] as string;
  return { value: family(type) === 'number' ? policyNumber(text) : text, text };
}

/** The `i`-th literal for a column of `type`: its plan value and PostgreSQL SQL. */
function literal(type: ColType, i: number): { value: unknown; sql: string } {
  const { value, text } = planLiteral(type, i);
  if (text === null) return { value, sql: 'NULL' };
  if (type === 'bool') return { value, sql: text };
  return { value, sql: `${sqlText(text)}::${PG_CAST[type]}` };
}

/** The column as SQL compares it: text by code point. */
export function sqlColumn(col: TypedCol, alias?: string): string {
  const ref = alias === undefined ? quote(col.name) : `${alias}.${quote(col.name)}`;
  return col.type === 'text' ? `(${ref} COLLATE "C")` : ref;
}

const OPS = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;

/** The predicate over `cols` (which must not be empty): plan form and SQL form. */
export function buildPredicate(r: PredRecipe, cols: TypedCol[]): { plan: unknown; sql: string } {
  const at = (p: number): TypedCol => cols[p % cols.length] as TypedCol;
  switch (r.t) {
    case 'cmp': {
      const col = at(r.col);
      const lit = literal(col.type, r.val);
      return { plan: { [r.op]: [col.name, lit.value] }, sql: `(${sqlColumn(col)} ${OPS[r.op]} ${lit.sql})` };
    }
    case 'in': {
      const col = at(r.col);
      const lits = r.vals.map((v) => literal(col.type, v));
      const array = lits.length === 0 ? `'{}'::${PG_CAST[col.type]}[]` : `ARRAY[${lits.map((l) => l.sql).join(', ')}]::${PG_CAST[col.type]}[]`;
      return { plan: { in: [col.name, lits.map((l) => l.value)] }, sql: `(${sqlColumn(col)} = ANY(${array}))` };
    }
    case 'isNull': {
      const col = at(r.col);
      return { plan: { isNull: col.name }, sql: `(${quote(col.name)} IS NULL)` };
    }
    case 'and':
    case 'or': {
      const parts = r.ps.map((p) => buildPredicate(p, cols));
      return { plan: { [r.t]: parts.map((p) => p.plan) }, sql: `(${parts.map((p) => p.sql).join(r.t === 'and' ? ' AND ' : ' OR ')})` };
    }
    case 'not': {
      const inner = buildPredicate(r.p, cols);
      return { plan: { not: inner.plan }, sql: `(NOT ${inner.sql})` };
    }
    default:
      return r satisfies never;
  }
}
