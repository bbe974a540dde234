import fc from 'fast-check';
import { predArb, type PredRecipe } from './predicates.js';
import { worldArb, type World } from './schema.js';

/**
 * Plan recipes for the PostgreSQL-oracle fuzz: plain numbers that `translate.ts` reads
 * modulo the columns in scope, so every recipe builds a plan and fast-check shrinks freely.
 */

export interface FragmentRecipe {
  table: number;
  cols: number[];
  /** A `$from` bind join on an upstream fragment's column (of a type the column takes). */
  bind: { up: number; col: number; upCol: number; batch: number | null; not: boolean } | null;
  /** A filter in the native query (memory and PostgreSQL fragments). */
  where: PredRecipe | null;
}

export type MergeRecipe =
  | { op: 'leaf'; f: number }
  | { op: 'union'; inputs: MergeRecipe[]; distinct: boolean }
  | { op: 'join'; type: 'inner' | 'left' | 'semi' | 'anti'; left: MergeRecipe; right: MergeRecipe; on: [number, number][]; rightAs: number | null }
  | { op: 'nest'; parent: MergeRecipe; child: MergeRecipe; on: [number, number][]; as: number }
  | { op: 'project'; input: MergeRecipe; cols: { c: number; as: number | null }[] }
  | { op: 'filter'; input: MergeRecipe; where: PredRecipe }
  | { op: 'aggregate'; input: MergeRecipe; groupBy: number[] | null; aggs: { fn: 'count' | 'sum' | 'min' | 'max' | 'avg'; c: number | null }[] }
  | { op: 'sort'; input: MergeRecipe; by: { c: number; desc: boolean; nulls: 'first' | 'last' | null }[] }
  /** A limit whose rows do not depend on their order: all of them, or none. */
  | { op: 'limit'; input: MergeRecipe; all: boolean; offset: 'none' | 'zero' | 'past' }
  /** A sort by every column (so the order is total), then a limit with an offset, inside the tree. */
  | { op: 'topn'; input: MergeRecipe; desc: boolean[]; nulls: ('first' | 'last' | null)[]; n: number; offset: number | null };

export interface PlanRecipe {
  world: World;
  fragments: FragmentRecipe[];
  merge: MergeRecipe;
  /** Sort the result by every column, then maybe limit it (an offset may pass the end). */
  top: { desc: boolean[]; nulls: ('first' | 'last' | null)[]; limit: { n: number; offset: number | null } | null } | null;
}

const bindArb = fc.record({ up: fc.nat(), col: fc.nat(), upCol: fc.nat(), batch: fc.option(fc.integer({ min: 1, max: 3 })), not: fc.nat({ max: 3 }).map((n) => n === 0) });
/** `bindFreq`: one fragment in `bindFreq` has no bind join (fast-check's `freq`). */
const fragmentArb = (bindFreq: number): fc.Arbitrary<FragmentRecipe> =>
  fc.record({
    table: fc.nat({ max: 2 }),
    cols: fc.array(fc.nat({ max: 9 }), { minLength: 1, maxLength: 5 }),
    bind: fc.option(bindArb, { freq: bindFreq }),
    where: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: predArb, weight: 1 }),
  });

const mergeArb = (maxDepth: number): fc.Arbitrary<MergeRecipe> =>
  fc.letrec<{ node: MergeRecipe }>((tie) => ({
    node: fc.oneof(
      { maxDepth, depthIdentifier: 'merge', depthSize: 'small' },
      fc.record({ op: fc.constant('leaf' as const), f: fc.nat() }),
      fc.record({ op: fc.constant('union' as const), inputs: fc.array(tie('node'), { minLength: 1, maxLength: 3 }), distinct: fc.boolean() }),
      fc.record({
        op: fc.constant('join' as const),
        type: fc.constantFrom('inner' as const, 'left' as const, 'semi' as const, 'anti' as const),
        left: tie('node'),
        right: tie('node'),
        on: fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 2 }),
        rightAs: fc.option(fc.nat({ max: 3 }), { freq: 3 }),
      }),
      fc.record({ op: fc.constant('nest' as const), parent: tie('node'), child: tie('node'), on: fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 2 }), as: fc.nat({ max: 7 }) }),
      fc.record({ op: fc.constant('project' as const), input: tie('node'), cols: fc.array(fc.record({ c: fc.nat(), as: fc.option(fc.nat(), { freq: 2 }) }), { minLength: 1, maxLength: 4 }) }),
      fc.record({ op: fc.constant('filter' as const), input: tie('node'), where: predArb }),
      fc.record({ op: fc.constant('leaf' as const), f: fc.nat() }),
      fc.record({
        op: fc.constant('aggregate' as const),
        input: tie('node'),
        groupBy: fc.option(fc.array(fc.nat(), { maxLength: 2 })),
        aggs: fc.array(fc.record({ fn: fc.constantFrom('count' as const, 'sum' as const, 'min' as const, 'max' as const, 'avg' as const), c: fc.option(fc.nat(), { freq: 6 }) }), { minLength: 1, maxLength: 3 }),
      }),
      fc.record({ op: fc.constant('limit' as const), input: tie('node'), all: fc.nat({ max: 4 }).map((n) => n > 0), offset: fc.constantFrom('none' as const, 'zero' as const, 'none' as const, 'zero' as const, 'past' as const) }),
      fc.record({
        op: fc.constant('topn' as const),
        input: tie('node'),
        desc: fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }),
        nulls: fc.array(fc.option(fc.constantFrom('first' as const, 'last' as const)), { minLength: 1, maxLength: 3 }),
        n: fc.integer({ min: 0, max: 5 }),
        offset: fc.option(fc.nat({ max: 4 })),
      }),
      fc.record({ op: fc.constant('sort' as const), input: tie('node'), by: fc.array(fc.record({ c: fc.nat(), desc: fc.boolean(), nulls: fc.option(fc.constantFrom('first' as const, 'last' as const)) }), { minLength: 1, maxLength: 2 }) }),
    ),
  })).node;

/** `world`: where the tables live and what they hold (the MariaDB oracle places them its own way). */
export const planRecipeArb = ({ maxFragments = 4, mergeDepth = 3, bindFreq = 2, minFragments = 1, maxRows = 7, world = worldArb } = {}): fc.Arbitrary<PlanRecipe> =>
  fc.record({
    world: world(maxRows),
    fragments: fc.array(fragmentArb(bindFreq), { minLength: minFragments, maxLength: maxFragments }),
    merge: mergeArb(mergeDepth),
    top: fc.option(
      fc.record({
        desc: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
        nulls: fc.array(fc.option(fc.constantFrom('first' as const, 'last' as const)), { minLength: 1, maxLength: 4 }),
        limit: fc.option(fc.record({ n: fc.integer({ min: 1, max: 6 }), offset: fc.option(fc.oneof({ arbitrary: fc.nat({ max: 2 }), weight: 4 }, { arbitrary: fc.integer({ min: 3, max: 12 }), weight: 1 })) })),
      }),
      { freq: 3 },
    ),
  });
