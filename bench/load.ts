import pg from 'pg';
import { createExecutor, memorySource, postgresSource, type Plan, type Row } from '../src/index.js';
import { runBare } from './bare-shape.js';
import { serverCpuMs, withOrdersTable } from './pg.js';
import { fmt, ms, type BenchContext, type GroupResult } from './report.js';

/**
 * h: a service's load. RUNS runs of a small plan — keys from an in-memory table (5 of
 * them, picked by a run parameter) bind-joined to a PostgreSQL table by primary key — with
 * IN_FLIGHT of them running at any moment, against the same work written by hand: a
 * `pg.Pool` of the same size, the same filter, the same `= ANY($1)` query and a `Map` join.
 * Cache off: every run goes to the server. The ratio is tributary's total time ÷ the
 * hand-written one's. The same work also runs through the bare shape of DESIGN.md
 * (bare-shape.ts: the actors alone, doing the hand-written calls), which tells what the
 * shape costs before any of tributary's own code.
 */

const RUNS = Number(process.env.BENCH_H_RUNS ?? 4000);
const IN_FLIGHT = 250;
const POOL = 8;
const GROUPS = 400;
const TABLE_ROWS = 100_000;

/** One drive: its elapsed time, and the CPU this process and the server spent meanwhile (ms). */
interface Driven {
  ms: number;
  cpuMs: number;
  serverCpuMs: number | undefined;
}

/**
 * Runs `task(i)` for i < total with at most `inFlight` at once. `server` reads the
 * PostgreSQL server's CPU time (only for a server on this machine).
 */
async function drive(total: number, inFlight: number, task: (i: number) => Promise<unknown>, server?: () => number | undefined): Promise<Driven> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const server0 = server?.();
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) await task(next++);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const server1 = server0 === undefined ? undefined : server?.();
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, serverCpuMs: server0 === undefined || server1 === undefined ? undefined : server1 - server0 };
}

/** The drive of median elapsed time among `drives`. */
function medianDrive(drives: readonly Driven[]): Driven {
  return [...drives].sort((a, b) => a.ms - b.ms)[drives.length >> 1]!;
}

export async function load(ctx: BenchContext): Promise<GroupResult> {
  const name = `a service's load: ${RUNS.toLocaleString('en-US')} runs of a memory ⋈ PostgreSQL bind join, ${IN_FLIGHT} in flight: tributary ÷ hand-written`;
  if (!ctx.pg.ok) return { rows: [{ id: 'h', name, measured: ctx.pg.skipped, target: '≤ 1.25×', met: undefined }], details: [] };
  const url = ctx.pg.url;
  return withOrdersTable(url, 'load', TABLE_ROWS, async (table) => {
    // GROUPS groups of 5 keys spread over the table.
    const keys: Row[] = Array.from({ length: GROUPS * 5 }, (_, i) => ({ g: i % GROUPS, k: 1 + ((i * 37) % TABLE_ROWS) }));
    const executor = createExecutor({
      sources: { keys: memorySource({ tables: { keys } }), pg: postgresSource({ url, max: POOL, maxConcurrency: POOL }) },
      cache: false,
      concurrency: 64,
    });
    const pool = new pg.Pool({ connectionString: url, max: POOL });
    const sql = `SELECT id, customer_id, total, status FROM ${table} WHERE id = ANY($1)`;
    const plan: Plan = {
      id: 'service-load',
      fragments: [
        { id: 'keys', source: 'keys', query: { table: 'keys', where: { eq: ['g', { $param: 'g' }] } } },
        { id: 'orders', source: 'pg', dependsOn: ['keys'], query: { sql, params: [{ $from: 'keys', column: 'k' }] } },
      ],
      merge: { op: 'join', type: 'inner', left: 'keys', right: 'orders', on: [['k', 'id']] },
    };
    // A service keeps its plan prepared, as a prepared statement; each run binds its own `g`.
    const prepared = executor.prepare(plan);
    const viaTributary = async (i: number): Promise<number> => (await executor.execute(prepared, { params: { g: i % GROUPS } })).rows.length;
    const byHand = async (i: number): Promise<number> => {
      const g = i % GROUPS;
      const mine = keys.filter((r) => r.g === g);
      const ids = [...new Set(mine.map((r) => r.k))];
      const { rows } = await pool.query({ text: sql, values: [ids] });
      return join(mine, rows as Row[]).length;
    };
    const join = (mine: readonly Row[], rows: readonly Row[]): Row[] => {
      const byId = new Map<unknown, Row>(rows.map((r: Row) => [r.id, r]));
      const out: Row[] = [];
      for (const r of mine) {
        const o = byId.get(r.k);
        if (o) out.push({ ...r, ...o });
      }
      return out;
    };
    const viaBareShape = async (i: number): Promise<number> => {
      const g = i % GROUPS;
      const rows = await runBare({
        fragments: [
          { source: 'keys', call: () => Promise.resolve(keys.filter((r) => r.g === g)) },
          { source: 'pg', call: async (rowsOf) => (await pool.query({ text: sql, values: [[...new Set(rowsOf(0).map((r) => r.k))]] })).rows as Row[] },
        ],
        levels: [[0], [1]],
        merge: (rowsOf) => join(rowsOf(0), rowsOf(1)),
      });
      return rows.length;
    };
    try {
      ctx.log(`h: ${RUNS} runs, ${IN_FLIGHT} in flight`);
      for (let i = 0; i < GROUPS; i += 37) {
        const [a, b, s] = [await viaTributary(i), await byHand(i), await viaBareShape(i)];
        if (a !== b || s !== b || a === 0) throw new Error(`h: group ${i}: tributary returned ${a} rows, the bare shape ${s}, the hand-written join ${b}`);
      }
      await drive(500, IN_FLIGHT, viaTributary);
      await drive(500, IN_FLIGHT, byHand);
      await drive(500, IN_FLIGHT, viaBareShape);
      // The server's CPU is read from /proc only when it runs on this machine.
      const host = new URL(url).hostname;
      const server = host === '127.0.0.1' || host === 'localhost' || host === '::1' ? serverCpuMs : undefined;
      const t: Driven[] = [];
      const b: Driven[] = [];
      const s: Driven[] = [];
      for (let round = 0; round < 3; round++) {
        t.push(await drive(RUNS, IN_FLIGHT, viaTributary, server));
        b.push(await drive(RUNS, IN_FLIGHT, byHand, server));
        s.push(await drive(RUNS, IN_FLIGHT, viaBareShape, server));
      }
      const [tm, bm, sm] = [medianDrive(t), medianDrive(b), medianDrive(s)];
      const ratio = tm.ms / bm.ms;
      const shape = sm.ms / bm.ms;
      const rate = (elapsed: number): string => `${Math.round((RUNS / elapsed) * 1000).toLocaleString('en-US')} runs/s`;
      // CPU per run: this process's (tributary's or the baseline's, with the pg client) and the server's.
      const perRun = (d: Driven): string =>
        `${fmt((d.cpuMs * 1000) / RUNS, 3)} µs of this process's CPU` + (d.serverCpuMs === undefined ? '' : `, ${fmt((d.serverCpuMs * 1000) / RUNS, 3)} µs of the server's`);
      return {
        rows: [
          { id: 'h', name, measured: `${fmt(ratio)}×`, target: '≤ 1.25×', met: ratio <= 1.25 },
          { id: 'h', name: "the same runs through DESIGN.md's bare shape (bench/bare-shape.ts: its actors around the hand-written calls) ÷ hand-written: the shape's own floor", measured: `${fmt(shape)}×`, target: '— (report)', met: undefined },
          { id: 'h', name: 'tributary ÷ the bare shape: what tributary adds to the shape', measured: `${fmt(tm.ms / sm.ms)}×`, target: '— (report)', met: undefined },
          {
            id: 'h',
            name: "CPU of the benchmark's process per run: tributary ÷ hand-written (the bare shape ÷ hand-written)",
            measured: `${fmt(tm.cpuMs / bm.cpuMs)}× (${fmt(sm.cpuMs / bm.cpuMs)}×)`,
            target: '— (report)',
            met: undefined,
          },
        ],
        details: [
          `**h** (${RUNS} runs × 3 rounds, ${IN_FLIGHT} in flight; pool ${POOL} on all three; keys: ${GROUPS * 5} in-memory rows, 5 per run; orders: ${TABLE_ROWS.toLocaleString('en-US')} rows, primary key; cache off): tributary ${ms(tm.ms)} (${rate(tm.ms)}), hand-written ${ms(bm.ms)} (${rate(bm.ms)}), the bare shape ${ms(sm.ms)} (${rate(sm.ms)})`,
          '',
          `CPU per run (the median round of each; a process's CPU may exceed its wall time: V8 collects garbage on other threads): tributary ${perRun(tm)}; hand-written ${perRun(bm)}; the bare shape ${perRun(sm)}.`,
        ],
      };
    } finally {
      await executor.close();
      await pool.end();
    }
  });
}
