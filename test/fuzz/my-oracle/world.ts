import fc from 'fast-check';
import { predArb } from '../pg-oracle/predicates.js';
import { planRecipeArb, type PlanRecipe } from '../pg-oracle/recipe.js';
import { rowsArb, type SourceKind, type TableName, type World } from '../pg-oracle/schema.js';

/**
 * The data of the MariaDB-oracle fuzz: the PostgreSQL oracle's tables and values, placed
 * mostly on MariaDB, else on PostgreSQL or in memory, where the oracle holds a copy of each
 * in MariaDB. `tc` (a boolean column) is never on MariaDB: a `BOOLEAN` there is a
 * `TINYINT(1)`, which tributary reads as a number (README, "The values policy").
 *
 * A table on MariaDB has the server's default collation for utf8mb4 (case- and
 * accent-insensitive, PAD SPACE), `utf8mb4_bin` (code points, PAD SPACE) or `utf8mb4_nopad_bin`. Its fragments' own SQL (their
 * filters and the `IN (?)` of a bind join) compares under that collation, as the server
 * does; everything above the fragments compares as the merge tree does, by code point.
 */

const ON: Record<TableName, SourceKind[]> = { ta: ['my', 'my', 'my', 'pg', 'mem'], tb: ['my', 'my', 'pg', 'mem'], tc: ['pg', 'mem'] };

export const myWorldArb = (maxRows = 7): fc.Arbitrary<World> =>
  fc
    .record({ ta: fc.constantFrom(...ON.ta), tb: fc.constantFrom(...ON.tb), tc: fc.constantFrom(...ON.tc) })
    .chain((placement) =>
      fc.record({ ta: rowsArb('ta', placement.ta, maxRows), tb: rowsArb('tb', placement.tb, maxRows), tc: rowsArb('tc', placement.tc, maxRows) }).map((rows) => ({ placement, rows })),
    );

export type Collation = 'ci' | 'bin' | 'padBin';
export type Collations = Record<TableName, Collation>;

export interface MyRecipe {
  plan: PlanRecipe;
  /** The collation of each table's text columns when it is on MariaDB. */
  collation: Collations;
}

const collationArb = fc.constantFrom<Collation>('ci', 'bin', 'padBin');

/** Plan recipes over a MariaDB world (the options of the PostgreSQL oracle's `planRecipeArb`). */
export const myRecipeArb = (options: Omit<NonNullable<Parameters<typeof planRecipeArb>[0]>, 'world'> = {}): fc.Arbitrary<MyRecipe> =>
  fc.record({ plan: planRecipeArb({ ...options, world: myWorldArb }), collation: fc.record({ ta: collationArb, tb: collationArb, tc: collationArb }) });

const aggsArb = fc.array(fc.record({ fn: fc.constantFrom('count' as const, 'sum' as const, 'min' as const, 'max' as const, 'avg' as const), c: fc.option(fc.nat(), { freq: 8 }) }), { minLength: 1, maxLength: 4 });

/** Recipes whose merge ends in an aggregate (grouped or not) over a random tree: sums and averages of DECIMALs, min/max of text. */
export const myAggregateRecipeArb = (options: Omit<NonNullable<Parameters<typeof planRecipeArb>[0]>, 'world'> = {}): fc.Arbitrary<MyRecipe> =>
  fc
    .record({ recipe: myRecipeArb(options), groupBy: fc.option(fc.array(fc.nat(), { minLength: 1, maxLength: 2 }), { freq: 4 }), aggs: aggsArb })
    .map(({ recipe, groupBy, aggs }) => ({ ...recipe, plan: { ...recipe.plan, merge: { op: 'aggregate' as const, input: recipe.plan.merge, groupBy, aggs } } }));

/** Recipes whose every fragment filters in its own query: on MariaDB with bound scalars and `IN (?)` lists. */
export const myFilteredRecipeArb = (options: Omit<NonNullable<Parameters<typeof planRecipeArb>[0]>, 'world'> = {}): fc.Arbitrary<MyRecipe> =>
  fc
    .record({ recipe: myRecipeArb(options), wheres: fc.array(predArb, { minLength: 4, maxLength: 4 }) })
    .map(({ recipe, wheres }) => ({ ...recipe, plan: { ...recipe.plan, fragments: recipe.plan.fragments.map((f, i) => ({ ...f, where: f.where ?? wheres[i % wheres.length] ?? null })) } }));
