import type { Predicate } from '../plan/schema.js';

/** A column a merge step reads, and where the plan names it (`merge.where.and[1].eq[0]`). */
export type ColumnRef = readonly [column: string, path: string];

/** The columns `where` reads, in the order they appear. */
export function predicateColumns(where: Predicate, path: string): ColumnRef[] {
  const out: ColumnRef[] = [];
  const walk = (p: Predicate, at: string): void => {
    if ('and' in p) p.and.forEach((q, i) => walk(q, `${at}.and[${i}]`));
    else if ('or' in p) p.or.forEach((q, i) => walk(q, `${at}.or[${i}]`));
    else if ('not' in p) walk(p.not, `${at}.not`);
    else if ('isNull' in p) out.push([p.isNull, `${at}.isNull`]);
    else {
      const [op, args] = Object.entries(p)[0] as [string, [string, unknown]];
      out.push([args[0], `${at}.${op}[0]`]);
    }
  };
  walk(where, path);
  return out;
}
