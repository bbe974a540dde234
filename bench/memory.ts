import { z } from 'zod';
import { createExecutor, type Plan, type Row, type SourceExecutor } from '../src/index.js';
import { bytes, fmt, type BenchContext, type BenchRow, type GroupResult } from './report.js';
import { report, runChild } from './spawn.js';

/**
 * f: peak heap while a 1M-row union (4 fragments × 250k rows) comes out of `run.rows()`
 * (each batch dropped as soon as it is counted) and out of `run.result` (kept), each ÷ the
 * rows' own size (the heap a plain array of the same rows takes). Every figure comes from
 * its own child process (`--expose-gc`), so the phases never share garbage.
 *
 * The source streams like a database cursor: `execute` returns an AsyncIterable of
 * 10,000-row batches generated on demand, so nothing but tributary holds the rows.
 */

const ROWS = 1_000_000;
const FRAGMENTS = 4;
const BATCH = 10_000;
const STATUS = ['new', 'paid', 'shipped', 'closed'] as const;

const makeRow = (i: number): Row => ({ id: i, customer_id: i % 10_000, total: (i % 997) * 1.5, status: STATUS[i % 4] });

const rangeQuery = z.strictObject({ from: z.number().int(), count: z.number().int().positive() });

function cursorSource(onBatch: () => void): SourceExecutor<z.infer<typeof rangeQuery>> {
  return {
    kind: 'cursor',
    querySchema: rangeQuery,
    execute(query, ctx) {
      return (async function* () {
        for (let i = query.from; i < query.from + query.count; i += BATCH) {
          if (ctx.signal.aborted) return;
          const batch: Row[] = [];
          for (let j = i; j < Math.min(i + BATCH, query.from + query.count); j++) batch.push(makeRow(j));
          onBatch();
          yield batch;
        }
      })();
    },
  };
}

function unionPlan(): Plan {
  const per = ROWS / FRAGMENTS;
  const fragments = Array.from({ length: FRAGMENTS }, (_, k) => ({ id: `part${k}`, source: 'cursor', query: { from: k * per, count: per } }));
  return { id: 'memory-union', fragments, merge: { op: 'union', inputs: fragments.map((f) => f.id) } };
}

interface MemoryFigure {
  mode: 'size' | 'streamed' | 'materialized';
  /** Heap above the post-GC baseline: the rows' size, or the sampled peak of a run. */
  heapBytes: number;
  rows: number;
  maxRssBytes: number;
}

/** Child task (needs --expose-gc): one figure, `size`, `streamed` or `materialized`. */
export async function memoryChild(args: string[]): Promise<void> {
  const mode = args[0] as MemoryFigure['mode'];
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the memory child with --expose-gc');
  gc();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  const sample = (): void => {
    const used = process.memoryUsage().heapUsed;
    if (used > peak) peak = used;
  };

  if (mode === 'size') {
    const rows: Row[] = [];
    for (let i = 0; i < ROWS; i++) rows.push(makeRow(i));
    gc();
    report({ mode, heapBytes: process.memoryUsage().heapUsed - base, rows: rows.length, maxRssBytes: process.resourceUsage().maxRSS * 1024 } satisfies MemoryFigure);
    return;
  }

  // Timers rarely fire during a run (it is one long chain of microtasks), hence the samples
  // taken in the source and the consumer as well.
  const timer = setInterval(sample, 2);
  const executor = createExecutor({ sources: { cursor: cursorSource(sample) }, cache: false });
  const run = executor.run(unionPlan());
  let count = 0;
  if (mode === 'streamed') {
    for await (const batch of run.rows(BATCH)) {
      count += batch.length;
      sample();
    }
  } else {
    const result = await run.result;
    sample();
    count = result.rows.length;
  }
  sample();
  clearInterval(timer);
  await executor.close();
  report({ mode, heapBytes: peak - base, rows: count, maxRssBytes: process.resourceUsage().maxRSS * 1024 } satisfies MemoryFigure);
}

export async function memory(ctx: BenchContext): Promise<GroupResult> {
  const figures: Record<string, MemoryFigure> = {};
  for (const mode of ['size', 'streamed', 'materialized'] as const) {
    // heapUsed counts garbage not yet collected, so a peak varies with GC timing: best of two children.
    for (let attempt = 0; attempt < (mode === 'size' ? 1 : 2); attempt++) {
      ctx.log(`f: ${mode} (child process, --expose-gc)`);
      const out = await runChild<MemoryFigure>('memory', [mode], { nodeFlags: ['--expose-gc', '--max-old-space-size=4096'] });
      const figure = out.results[0]!;
      if (figure.rows !== ROWS) throw new Error(`f ${mode}: got ${figure.rows} rows, expected ${ROWS}`);
      if (!figures[mode] || figure.heapBytes < figures[mode].heapBytes) figures[mode] = figure;
    }
  }
  const size = figures.size!.heapBytes;
  const streamed = figures.streamed!.heapBytes / size;
  const materialized = figures.materialized!.heapBytes / size;
  const rows: BenchRow[] = [
    { id: 'f', name: 'memory: peak heap of a 1M-row union through run.rows() ÷ the rows’ size', measured: `${fmt(streamed)}×`, target: '≤ 1.5×', met: streamed <= 1.5 },
    { id: 'f', name: 'memory: peak heap of the same union through run.result ÷ the rows’ size', measured: `${fmt(materialized)}×`, target: '—', met: undefined },
  ];
  const details = [
    `**f** (${FRAGMENTS} fragments × ${ROWS / FRAGMENTS} rows from a cursor-like source in ${BATCH}-row batches, union; cache off; heapUsed sampled every 2 ms and at every batch, above a post-GC baseline; the lower peak of two children)`,
    '',
    '| figure | heap | child peak RSS |',
    '|---|---|---|',
    `| the rows' own size (a plain array of 1M rows, after GC) | ${bytes(size)} | ${bytes(figures.size!.maxRssBytes)} |`,
    `| peak through run.rows() | ${bytes(figures.streamed!.heapBytes)} | ${bytes(figures.streamed!.maxRssBytes)} |`,
    `| peak through run.result | ${bytes(figures.materialized!.heapBytes)} | ${bytes(figures.materialized!.maxRssBytes)} |`,
  ];
  return { rows, details };
}
