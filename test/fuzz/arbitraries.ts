import fc from 'fast-check';
import { tablesArb, type Tables } from './world.js';

/**
 * Recipes for plans: plain data of small numbers that `build.ts` interprets against the
 * columns actually in scope (a pick `p` means `columns[p % columns.length]`). Keeping the
 * recipe schema-free lets fast-check shrink it freely; the built plan is always valid.
 */

/** A number interpreted modulo whatever list it picks from; 999 picks a column no row has. */
/** Mostly null, sometimes a value. */
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: arb, weight: 1 });

const pick = fc.oneof({ arbitrary: fc.nat({ max: 50 }), weight: 30 }, { arbitrary: fc.constant(999), weight: 1 });

export type PredRecipe =
  | { t: 'cmp'; op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'; col: number; val: number }
  | { t: 'in'; col: number; vals: number[]; param: boolean }
  | { t: 'isNull'; col: number }
  | { t: 'and' | 'or'; ps: PredRecipe[] }
  | { t: 'not'; p: PredRecipe };

export const predArb: fc.Arbitrary<PredRecipe> = fc.letrec<{ pred: PredRecipe }>((tie) => ({
  pred: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'pred' },
    fc.record({ t: fc.constant('cmp' as const), op: fc.constantFrom('eq', 'ne', 'lt', 'le', 'gt', 'ge'), col: pick, val: fc.nat() }),
    fc.record({ t: fc.constant('in' as const), col: pick, vals: fc.array(fc.nat(), { maxLength: 4 }), param: fc.boolean() }),
    fc.record({ t: fc.constant('isNull' as const), col: pick }),
    fc.record({ t: fc.constantFrom('and' as const, 'or' as const), ps: fc.array(tie('pred'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ t: fc.constant('not' as const), p: tie('pred') }),
  ),
})).pred;

export interface BindRecipe {
  up: number;
  upCol: number;
  col: number;
  /** How the bound `in` sits in the predicate: plain, negated, or beside the other predicate. */
  form: number;
}

export interface FragmentRecipe {
  sql: boolean;
  table: number;
  cols: number[] | null;
  where: PredRecipe | null;
  binds: BindRecipe[];
  batch: { which: number; size: number } | null;
  extraDeps: number[];
  sqlExtra: number | null;
  orderBy: boolean;
  broken: boolean;
  timeoutMs: number | null;
  attempts: number | null;
  cache: number | null;
}

const fragmentArb: fc.Arbitrary<FragmentRecipe> = fc.record({
  sql: fc.boolean(),
  table: fc.nat({ max: 5 }),
  cols: fc.option(fc.array(fc.nat({ max: 7 }), { minLength: 1, maxLength: 4 })),
  where: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: predArb, weight: 2 }),
  binds: fc.oneof(fc.constant<BindRecipe[]>([]), fc.array(fc.record({ up: fc.nat({ max: 7 }), upCol: pick, col: fc.nat({ max: 7 }), form: fc.nat({ max: 5 }) }), { minLength: 1, maxLength: 2 })),
  batch: fc.option(fc.record({ which: fc.nat({ max: 3 }), size: fc.integer({ min: 1, max: 4 }) })),
  extraDeps: fc.array(fc.nat({ max: 7 }), { maxLength: 2 }),
  sqlExtra: rarely(fc.nat({ max: 5 })),
  orderBy: fc.boolean(),
  broken: fc.nat({ max: 24 }).map((n) => n === 0),
  timeoutMs: rarely(fc.integer({ min: 2_000, max: 60_000 })),
  attempts: rarely(fc.integer({ min: 1, max: 3 })),
  cache: rarely(fc.nat({ max: 2 })),
});

type Leaf = { op: 'leaf'; f: number };
export type MergeRecipe =
  | Leaf
  | { op: 'union'; inputs: MergeRecipe[]; distinct: boolean | null }
  | { op: 'join'; type: 'inner' | 'left' | 'semi' | 'anti'; left: MergeRecipe; right: MergeRecipe; on: [number, number][]; rightAs?: number | null }
  | { op: 'nest'; parent: MergeRecipe; child: MergeRecipe; on: [number, number][]; as: number }
  | { op: 'project'; input: MergeRecipe; cols: { c: number; rename: boolean }[]; dup: boolean }
  | { op: 'filter'; input: MergeRecipe; where: PredRecipe }
  | { op: 'aggregate'; input: MergeRecipe; groupBy: number[] | null; aggs: { fn: 'count' | 'sum' | 'min' | 'max' | 'avg'; c: number | null }[] }
  | { op: 'sort'; input: MergeRecipe; by: { c: number; desc: boolean | null; nulls: 'first' | 'last' | null }[] }
  | { op: 'limit'; input: MergeRecipe; n: number; offset: number | null };

const pairs = fc.array(fc.tuple(pick, pick), { minLength: 1, maxLength: 2 });

/** Merge trees up to `maxDepth` operators deep. */
export const mergeArb = (maxDepth: number): fc.Arbitrary<MergeRecipe> =>
  fc.letrec<{ node: MergeRecipe }>((tie) => ({
  node: fc.oneof(
    { maxDepth, depthIdentifier: 'merge', depthSize: 'small' },
    fc.record({ op: fc.constant('leaf' as const), f: fc.nat({ max: 7 }) }),
    fc.record({ op: fc.constant('union' as const), inputs: fc.array(tie('node'), { minLength: 1, maxLength: 3 }), distinct: fc.option(fc.boolean()) }),
    fc.record({ op: fc.constant('join' as const), type: fc.constantFrom('inner' as const, 'left' as const, 'semi' as const, 'anti' as const), left: tie('node'), right: tie('node'), on: pairs, rightAs: fc.option(fc.nat({ max: 3 }), { freq: 3 }) }),
    fc.record({ op: fc.constant('nest' as const), parent: tie('node'), child: tie('node'), on: pairs, as: fc.nat({ max: 9 }) }),
    fc.record({ op: fc.constant('project' as const), input: tie('node'), cols: fc.array(fc.record({ c: pick, rename: fc.boolean() }), { minLength: 1, maxLength: 4 }), dup: fc.nat({ max: 9 }).map((n) => n === 0) }),
    fc.record({ op: fc.constant('filter' as const), input: tie('node'), where: predArb }),
    fc.record({
      op: fc.constant('aggregate' as const),
      input: tie('node'),
      groupBy: fc.option(fc.array(pick, { maxLength: 2 })),
      aggs: fc.array(fc.record({ fn: fc.constantFrom('count' as const, 'sum' as const, 'min' as const, 'max' as const, 'avg' as const), c: fc.option(pick, { freq: 6 }) }), { minLength: 1, maxLength: 3 }),
    }),
    fc.record({ op: fc.constant('sort' as const), input: tie('node'), by: fc.array(fc.record({ c: pick, desc: fc.option(fc.boolean()), nulls: fc.option(fc.constantFrom('first' as const, 'last' as const)) }), { minLength: 1, maxLength: 3 }) }),
    fc.record({ op: fc.constant('limit' as const), input: tie('node'), n: fc.nat({ max: 6 }), offset: fc.option(fc.nat({ max: 4 })) }),
  ),
})).node;

export interface PlanRecipe {
  tables: Tables;
  fragments: FragmentRecipe[];
  merge: MergeRecipe | null;
  /** Sort the result by every column (then maybe limit), so it is compared in order. */
  topSort: { desc: boolean[]; nulls: ('first' | 'last' | null)[]; limit: [number, number | null] | null } | null;
  errorPolicy: 'fail-fast' | 'partial' | null;
  schedule: 'levels' | 'eager' | null;
  /** Fragment ids from a pool of names that shadow Object.prototype members. */
  protoIds: boolean;
  rotate: number;
  exec: { concurrency: number; cache: boolean; memMax: number | null; sqlMax: number | null };
}

/** Plans of 1 to `maxFragments` fragments with merge trees up to `mergeDepth` deep. */
export const planRecipeArb = ({ maxFragments = 8, mergeDepth = 4, tables = tablesArb } = {}): fc.Arbitrary<PlanRecipe> => fc.record({
  tables,
  fragments: fc.array(fragmentArb, { minLength: 1, maxLength: maxFragments }),
  merge: fc.option(mergeArb(mergeDepth), { freq: 8 }),
  topSort: fc.option(
    fc.record({
      desc: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
      nulls: fc.array(fc.option(fc.constantFrom('first' as const, 'last' as const)), { minLength: 1, maxLength: 4 }),
      limit: fc.option(fc.tuple(fc.nat({ max: 8 }), fc.option(fc.nat({ max: 3 }), { nil: null }))),
    }),
    { freq: 2 },
  ),
  errorPolicy: fc.option(fc.constantFrom('fail-fast' as const, 'partial' as const)),
  schedule: fc.option(fc.constantFrom('levels' as const, 'eager' as const)),
  protoIds: fc.nat({ max: 7 }).map((n) => n === 0),
  rotate: fc.nat({ max: 7 }),
  exec: fc.record({
    concurrency: fc.integer({ min: 1, max: 16 }),
    cache: fc.boolean(),
    memMax: fc.option(fc.integer({ min: 1, max: 3 })),
    sqlMax: fc.option(fc.integer({ min: 1, max: 3 })),
  }),
});
