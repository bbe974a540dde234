import fc from 'fast-check';
import { afterAll, beforeAll, it } from 'vitest';
import { describeWithServer, requireServer } from '../support/servers.js';
import { FUZZ_SCALE, runs } from './harness.js';
import { MyOracleBench } from './my-oracle/check.js';
import { myAggregateRecipeArb, myRecipeArb } from './my-oracle/world.js';

/**
 * Federated results against a second independent oracle: the PostgreSQL oracle's random
 * plans (unions, joins, nests, projections, filters with nulls, aggregates, sorts, limits,
 * `$from` bind joins, batched or `NOT IN`) over tables mostly on MariaDB — in its default
 * case-insensitive collation or in `utf8mb4_nopad_bin` —, some on PostgreSQL or in memory,
 * against the same query as ONE MariaDB statement over copies of every table there. DECIMAL
 * columns compare exactly; text above the fragments compares by code point, as the merge
 * tree does (README, "Exact decimals"), while a MariaDB fragment's own SQL compares under its
 * table's collation, as the server does. Each plan runs by levels, eagerly and streamed.
 */

const myCheck = await requireServer('mysql');
const pgCheck = await requireServer('postgres');
/** A fixed seed keeps CI reproducible; TRIBUTARY_FC_SEED explores others. */
const seed = process.env.TRIBUTARY_FC_SEED === undefined ? { seed: 7_2026_12 } : {};

describeWithServer(myCheck.skipReason ? myCheck : pgCheck, 'federated plans against one MariaDB statement', () => {
  let bench: MyOracleBench;
  beforeAll(async () => {
    bench = await MyOracleBench.open();
  });
  afterAll(async () => {
    await bench?.close();
  });

  it('give the oracle’s rows, exactly, run by levels, eagerly and streamed', async () => {
    await fc.assert(fc.asyncProperty(myRecipeArb(), (recipe) => bench.check(recipe)), { numRuns: runs(60), ...seed });
  }, 120_000 * FUZZ_SCALE);

  it('bind joins (batched or not) into MariaDB fragments give the rows of an IN subquery, under the table’s collation', async () => {
    await fc.assert(fc.asyncProperty(myRecipeArb({ minFragments: 2, maxFragments: 4, mergeDepth: 2, bindFreq: 20 }), (recipe) => bench.check(recipe)), { numRuns: runs(60), ...seed });
  }, 120_000 * FUZZ_SCALE);

  it('aggregates over any tree give MariaDB’s exact sums, quotients, and min/max in code point order', async () => {
    await fc.assert(fc.asyncProperty(myAggregateRecipeArb({ mergeDepth: 2 }), (recipe) => bench.check(recipe)), { numRuns: runs(60), ...seed });
  }, 120_000 * FUZZ_SCALE);
});
