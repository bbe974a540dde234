import { planLiteral, type PredRecipe, type TypedCol } from '../pg-oracle/predicates.js';
import type { ColType } from '../pg-oracle/schema.js';

/**
 * Filter predicates for the MariaDB-oracle fuzz: the recipe's plan predicate (the same one
 * the PostgreSQL oracle builds) and its MariaDB condition under the same three-valued logic.
 * Literals are exact: numbers as DECIMAL(65,12) of their text, so a BIGINT or DECIMAL column
 * never meets a double. Text compares under the column's collation, which the oracle makes
 * `utf8mb4_nopad_bin` above the fragments (code point order, no padding: README, "Exact
 * decimals"); a MariaDB fragment's own filter keeps its table's collation, as the server would.
 */

export const myQuote = (name: string): string => `\`${name.replace(/`/g, '``')}\``;
export const myText = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/** A literal's MariaDB spelling. */
export function myLiteral(type: ColType, text: string | null): string {
  if (text === null) return 'NULL';
  switch (type) {
    case 'int':
    case 'big':
    case 'num':
      return `CAST(${myText(text)} AS DECIMAL(65,12))`;
    case 'bool':
      return text === 'true' ? 'TRUE' : 'FALSE';
    case 'date':
      return `DATE ${myText(text)}`;
    case 'ts':
      return `TIMESTAMP ${myText(text.replace('T', ' ').replace('Z', ''))}`;
    case 'text':
      return myText(text);
    default:
      return type satisfies never;
  }
}

const OPS = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;

/** Whether MariaDB compares a bound list with a column of `type` exactly (README, `mysqlSource`). */
function bindsExactly(type: ColType, values: unknown[]): boolean {
  // A list of integer decimal strings alone goes as text, which a DECIMAL column compares as
  // doubles ('9007199254740992' meets 9007199254740993): documented, so left out.
  const known = values.filter((v) => v !== null);
  return !(type === 'num' && known.length > 0 && known.every((v) => typeof v === 'string' && !v.includes('.')));
}

/**
 * The predicate over `cols` (which must not be empty): plan form and MariaDB form. With
 * `params`, the MariaDB form binds its literals (`?`, a list as one `IN (?)` param that the
 * source expands) and pushes their plan values there, in order; else it spells them.
 */
export function myPredicate(r: PredRecipe, cols: TypedCol[], params?: unknown[]): { plan: unknown; sql: string } {
  const at = (p: number): TypedCol => cols[p % cols.length] as TypedCol;
  switch (r.t) {
    case 'cmp': {
      const col = at(r.col);
      const lit = planLiteral(col.type, r.val);
      params?.push(lit.value);
      return { plan: { [r.op]: [col.name, lit.value] }, sql: `(${myQuote(col.name)} ${OPS[r.op]} ${params ? '?' : myLiteral(col.type, lit.text)})` };
    }
    case 'in': {
      const col = at(r.col);
      const lits = r.vals.map((v) => planLiteral(col.type, v));
      const plan = { in: [col.name, lits.map((l) => l.value)] };
      if (params && bindsExactly(col.type, plan.in[1] as unknown[])) {
        params.push(plan.in[1]);
        return { plan, sql: `(${myQuote(col.name)} IN (?))` };
      }
      // `in []` is false for every row, a null too (README, SQL null semantics).
      const sql = lits.length === 0 ? '(1 = 0)' : `(${myQuote(col.name)} IN (${lits.map((l) => myLiteral(col.type, l.text)).join(', ')}))`;
      return { plan, sql };
    }
    case 'isNull': {
      const col = at(r.col);
      return { plan: { isNull: col.name }, sql: `(${myQuote(col.name)} IS NULL)` };
    }
    case 'and':
    case 'or': {
      const parts = r.ps.map((p) => myPredicate(p, cols, params));
      return { plan: { [r.t]: parts.map((p) => p.plan) }, sql: `(${parts.map((p) => p.sql).join(r.t === 'and' ? ' AND ' : ' OR ')})` };
    }
    case 'not': {
      const inner = myPredicate(r.p, cols, params);
      return { plan: { not: inner.plan }, sql: `(NOT ${inner.sql})` };
    }
    default:
      return r satisfies never;
  }
}
