import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, mysqlSource, postgresSource, type Executor, type MergeNode, type Plan, type Row } from '../../src/index.js';
import '../support/fast-check-seed.js';
import { describeWithServer, mysqlAdmin, pgAdmin, requireServer, scratchTables, type Admin } from '../support/servers.js';

/**
 * Every plan shape that streams — union, filter, project, limit (with offsets), a join's
 * probe side (its right side materialized), a bind join whose fragment binds another — and
 * shapes that run whole under `run.rows()` (sort, aggregate, union distinct), run streamed
 * and eagerly over the same real PostgreSQL and MariaDB tables, batches of two rows: the
 * same rows with the same keys, in the same order where sorted, decimals exactly (l1 has a
 * column the other leaves lack: a union's streamed rows carry it, null-padded). A `limit`
 * over unsorted rows keeps the rows that arrive first (README), so there only the count and
 * membership are held to the eager answer's.
 */

const [postgres, mysql] = await Promise.all([requireServer('postgres'), requireServer('mysql')]);
const N = 30;

/** A row of the scratch table: `amt` a DECIMAL(22,4), a third of whose values pass 15 significant digits (exact text then). */
function rowOf(i: number): [number, number, string | null, string] {
  const amt = i % 7 === 3 ? null : `${i % 2 === 0 ? '' : '-'}${i % 3 === 0 ? `98765432109876${String(i).padStart(2, '0')}` : String(i * 13)}.${String((i * 37) % 10000).padStart(4, '0')}`;
  return [i, i % 4, amt, `n${i % 5}`];
}

interface Leaf {
  id: string;
  lo: number;
  hi: number;
  /** Binds the `g` values of this earlier leaf (a bind join). */
  binds?: string;
}

interface Shape {
  leaves: Leaf[];
  merge: MergeNode;
  /** A limit over rows in arrival order somewhere in the tree: compare count and membership only. */
  arrival: boolean;
  ordered: boolean;
}

/** Plans over leaves l0..l3 (`SELECT id, g, amt, name FROM t WHERE id BETWEEN lo AND hi`). */
function shapeArb(): fc.Arbitrary<Shape> {
  const leafArb = fc.record({ lo: fc.integer({ min: 0, max: N }), span: fc.integer({ min: 0, max: N }) });
  return fc
    .record({
      leaves: fc.array(leafArb, { minLength: 4, maxLength: 4 }),
      bind: fc.boolean(),
      rel: fc.letrec<{ node: { merge: MergeNode; arrival: boolean } }>((tie) => ({
        node: fc.oneof(
          { depthSize: 'small', withCrossShrink: true },
          fc.constantFrom('l0', 'l1', 'l2').map((id) => ({ merge: id as MergeNode, arrival: false })),
          fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((inputs) => ({ merge: { op: 'union', inputs: inputs.map((i) => i.merge) } as MergeNode, arrival: inputs.some((i) => i.arrival) })),
          fc
            .tuple(tie('node'), fc.constantFrom<object>({ ge: ['g', 2] }, { isNull: 'amt' }, { in: ['name', ['n1', 'n3']] }, { not: { lt: ['amt', 0] } }))
            .map(([input, where]) => ({ merge: { op: 'filter', input: input.merge, where } as MergeNode, arrival: input.arrival })),
          fc
            .tuple(tie('node'), fc.integer({ min: 0, max: 12 }), fc.option(fc.integer({ min: 0, max: 4 })))
            .map(([input, n, offset]) => ({ merge: { op: 'limit', input: input.merge, n, ...(offset === null ? {} : { offset }) } as MergeNode, arrival: true })),
        ),
      })).node,
      top: fc.constantFrom('none', 'project', 'join', 'semi', 'sort', 'aggregate', 'distinct', 'limit-sorted'),
    })
    .map(({ leaves, bind, rel, top }) => {
      const ls: Leaf[] = leaves.map((l, i) => ({ id: `l${i}`, lo: l.lo, hi: l.lo + l.span }));
      // l2 binds l0's g values: a leaf with a dependent, and one that waits on another.
      if (bind) ls[2]!.binds = 'l0';
      let merge = rel.merge;
      let ordered = false;
      // Only a tree that streams keeps rows in arrival order; one that runs whole (sort, aggregate, distinct) is the eager answer.
      const arrival = rel.arrival && ['none', 'project', 'join', 'semi'].includes(top);
      switch (top) {
        case 'project':
          merge = { op: 'project', input: merge, columns: ['amt', { column: 'id', as: 'key' }] };
          break;
        case 'join':
          // l3 is the materialized right side; the probe side streams.
          merge = { op: 'join', type: 'left', left: merge, right: 'l3', on: [['id', 'id']] };
          break;
        case 'semi':
          merge = { op: 'join', type: 'semi', left: merge, right: 'l3', on: [['g', 'g']] };
          break;
        case 'sort':
          merge = { op: 'sort', input: merge, by: [{ column: 'amt', desc: true }, { column: 'id' }, { column: 'name' }] };
          ordered = true;
          break;
        case 'aggregate':
          merge = { op: 'aggregate', input: merge, groupBy: ['g'], aggregates: [{ fn: 'sum', column: 'amt', as: 's' }, { fn: 'count', as: 'n' }, { fn: 'max', column: 'amt', as: 'top' }] };
          break;
        case 'distinct':
          merge = { op: 'union', distinct: true, inputs: [merge, 'l1'] };
          break;
        case 'limit-sorted':
          merge = { op: 'limit', n: 5, offset: 1, input: { op: 'sort', input: merge, by: [{ column: 'id' }, { column: 'g' }] } };
          ordered = true;
          break;
      }
      return { leaves: ls, merge, arrival, ordered };
    });
}

function planOf(shape: Shape, table: string, kind: 'postgres' | 'mysql'): Plan {
  const used = new Set(JSON.stringify(shape.merge).match(/"l\d"/g)?.map((s) => s.slice(1, -1)));
  // A bound leaf needs the leaf it binds in the plan (it may feed only it).
  for (const l of shape.leaves) if (used.has(l.id) && l.binds) used.add(l.binds);
  return {
    errorPolicy: 'fail-fast',
    fragments: shape.leaves
      .filter((l) => used.has(l.id))
      .map((l) => {
        // l1 has a column the others lack: a union's streamed rows carry it (null) as the eager ones do.
        const base = `SELECT id, g, amt, name${l.id === 'l1' ? ', g * 10 AS extra' : ''} FROM ${table} WHERE id BETWEEN ${l.lo} AND ${l.hi}`;
        if (!l.binds) return { id: l.id, source: 'db', query: { sql: `${base} ORDER BY id` } };
        const list = kind === 'postgres' ? 'g = ANY($1)' : 'g IN (?)';
        return { id: l.id, source: 'db', dependsOn: [l.binds], query: { sql: `${base} AND ${list} ORDER BY id`, params: [{ $from: l.binds, column: 'g' }] } };
      }),
    merge: shape.merge,
  } as Plan;
}

/** The tree with every `limit` replaced by its input. */
function withoutLimits(node: MergeNode): MergeNode {
  if (typeof node === 'string') return node;
  if (node.op === 'limit') return withoutLimits(node.input);
  const out: Record<string, unknown> = { ...node };
  for (const k of ['input', 'left', 'right'] as const) if (k in node) out[k] = withoutLimits((node as unknown as Record<string, MergeNode>)[k]!);
  if ('inputs' in node) out.inputs = node.inputs.map(withoutLimits);
  return out as MergeNode;
}

const key = (row: Row): string => JSON.stringify(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? `${v}n` : v === null ? null : typeof v === 'object' ? String(v) : v]));

const targets = [
  { check: postgres, kind: 'postgres' as const, admin: () => pgAdmin(), source: () => postgresSource({ url: postgres.url, max: 4, streamBatchSize: 2 }), ddl: (t: string) => `CREATE TABLE ${t} (id int PRIMARY KEY, g int NOT NULL, amt numeric(22,4), name text NOT NULL)`, ph: (i: number) => `($${i * 4 + 1}, $${i * 4 + 2}, $${i * 4 + 3}, $${i * 4 + 4})` },
  { check: mysql, kind: 'mysql' as const, admin: () => mysqlAdmin(), source: () => mysqlSource({ url: mysql.url, connectionLimit: 4, streamBatchSize: 2 }), ddl: (t: string) => `CREATE TABLE ${t} (id int PRIMARY KEY, g int NOT NULL, amt decimal(22,4), name varchar(8) NOT NULL)`, ph: () => '(?, ?, ?, ?)' },
];

for (const t of targets) {
  describeWithServer(t.check, `streamed and eager runs of the same plan over ${t.kind}`, () => {
    let admin: Admin;
    let tables: ReturnType<typeof scratchTables>;
    let table: string;
    let executor: Executor;

    beforeAll(async () => {
      admin = await t.admin();
      tables = scratchTables(admin);
      table = tables.name('streamed_eager');
      await admin.exec(t.ddl(table));
      const rows = Array.from({ length: N }, (_, i) => rowOf(i));
      await admin.exec(`INSERT INTO ${table} VALUES ${rows.map((_, i) => t.ph(i)).join(', ')}`, rows.flat());
      executor = createExecutor({ sources: { db: t.source() }, cache: false });
    });

    afterAll(async () => {
      await executor?.close();
      await tables?.dropAll();
    });

    it('hold the same rows with the same keys (in order where sorted), decimals exact', async () => {
      await fc.assert(
        fc.asyncProperty(shapeArb(), async (shape) => {
          const plan = planOf(shape, table, t.kind);
          const eager = await executor.execute(plan);
          const run = executor.run(plan);
          const streamed: Row[] = [];
          for await (const batch of run.rows()) streamed.push(...batch);
          const result = await run.result;
          expect(eager.status).toBe('ok');
          expect(result.status).toBe('ok');
          if (shape.arrival) {
            // Which rows a limit keeps depends on arrival order: each streamed row is one the
            // plan without its limits gives, as often at most, with the eager answer's keys.
            const unlimited = await executor.execute({ ...plan, merge: withoutLimits(plan.merge!) });
            const pool = new Map<string, number>();
            for (const row of unlimited.rows) pool.set(key(row), (pool.get(key(row)) ?? 0) + 1);
            for (const row of streamed) {
              expect(Object.keys(row)).toEqual(unlimited.columns);
              const left = pool.get(key(row)) ?? 0;
              expect(left).toBeGreaterThan(0);
              pool.set(key(row), left - 1);
            }
            return;
          }
          expect(result.columns).toEqual(eager.columns);
          if (shape.ordered) expect(streamed).toEqual(eager.rows);
          else expect(streamed.map(key).sort()).toEqual(eager.rows.map(key).sort());
        }),
        { numRuns: 60 },
      );
    }, 120_000);
  });
}
