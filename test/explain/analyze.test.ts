import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, type Executor } from '../../src/executor.js';
import { analyze, criticalPath } from '../../src/explain/index.js';
import type { ExecutionEvent } from '../../src/progress/events.js';
import type { FragmentReport, QueryResult } from '../../src/run/index.js';
import type { SourceExecutor } from '../../src/sources/source.js';

/** A QueryResult with the given fragment timings (start, duration in ms; undefined: never ran). */
function resultOf(timings: Record<string, [number, number] | undefined>, level: Record<string, number>, deps: Record<string, string[]> = diamondDeps): QueryResult {
  const fragments: Record<string, FragmentReport> = {};
  for (const [id, t] of Object.entries(timings)) {
    fragments[id] = {
      source: 'src',
      level: level[id] ?? 0,
      dependsOn: deps[id] ?? [],
      status: t ? 'succeeded' : 'skipped',
      rowCount: t ? 1 : 0,
      attempts: t ? 1 : 0,
      calls: t ? 1 : 0,
      cached: false,
      startedAt: t?.[0],
      durationMs: t?.[1],
    };
  }
  const end = Math.max(...Object.values(timings).map((t) => (t ? t[0] + t[1] : 0)));
  return {
    queryId: 'q', runId: 'run-1',
    status: Object.values(timings).every(Boolean) ? 'ok' : 'partial',
    rows: [],
    columns: [],
    fragments,
    errors: [],
    completeness: { complete: true, fragments: {} },
    stats: { durationMs: end + 2, fragments: Object.keys(timings).length, cacheHits: 0, retries: 0, rowsFetched: 0 },
  };
}

const diamondDeps: Record<string, string[]> = { b: ['a'], c: ['a'], d: ['b', 'c'] };
const frag = (id: string, dependsOn: string[] = []) => ({ id, source: 'src', dependsOn, query: { ms: 0 } });

/**    a ─▶ b ─▶ d        e (independent)
 *      └─▶ c ──┘                          */
const diamond = {
  id: 'q',
  fragments: [frag('a'), frag('b', ['a']), frag('c', ['a']), frag('d', ['b', 'c']), frag('e')],
  merge: { op: 'union', inputs: ['d', 'e'] },
};
const diamondLevels = { a: 0, e: 0, b: 1, c: 1, d: 2 };

describe('analyze(result) without its plan', () => {
  it('reads the dependencies from the result and marks the same critical path', () => {
    const result = resultOf({ a: [0, 30], b: [30, 150], c: [30, 30], d: [180, 30], e: [0, 10] }, diamondLevels);
    expect(analyze(result).criticalPath).toEqual(analyze(result, diamond).criticalPath);
    expect(analyze(result).criticalPath).toEqual(['a', 'b', 'd']);
    expect(analyze(result).mermaid()).toContain('crit');
  });
});

describe('analyze', () => {
  it('marks the chain ending at the last finisher, stepping to the dependency that finished last', () => {
    const a = analyze(resultOf({ a: [0, 30], b: [30, 150], c: [30, 30], d: [180, 30], e: [0, 10] }, diamondLevels), diamond);
    expect(a.criticalPath).toEqual(['a', 'b', 'd']);
    expect(a.fragments.filter((f) => f.critical).map((f) => f.id)).toEqual(['a', 'b', 'd']);
  });

  it('follows the dependency that finished last, not the longest one', () => {
    // c ran shorter than b but started later and finished last: d waited for c.
    const a = analyze(resultOf({ a: [0, 30], b: [30, 100], c: [100, 40], d: [140, 5], e: [0, 500] }, diamondLevels), diamond);
    // e finished last of all, and it has no dependencies: the critical path is e alone.
    expect(a.criticalPath).toEqual(['e']);
    const b = analyze(resultOf({ a: [0, 30], b: [30, 100], c: [100, 40], d: [140, 5], e: [0, 5] }, diamondLevels), diamond);
    expect(b.criticalPath).toEqual(['a', 'c', 'd']);
  });

  it('ignores fragments that never ran', () => {
    const a = analyze(resultOf({ a: [0, 30], b: [30, 150], c: [30, 30], d: undefined, e: [0, 10] }, diamondLevels), diamond);
    expect(a.criticalPath).toEqual(['a', 'b']);
    expect(a.fragments.find((f) => f.id === 'd')).toMatchObject({ status: 'skipped', critical: false });
    expect(a.fragments.find((f) => f.id === 'd')!.startedAt).toBeUndefined();
  });

  it('takes queued and first-call times from recorded events, and bytes when known', () => {
    const at = (type: string, fragmentId: string, t: number) => ({ type, fragmentId, at: t, queryId: 'q', runId: 'run-1', source: 'src', level: 0 }) as unknown as ExecutionEvent;
    const events = [at('fragment.queued', 'a', 1), at('fragment.started', 'a', 4), at('fragment.started', 'a', 9)];
    const a = analyze(resultOf({ a: [1, 29], b: [30, 150], c: [30, 30], d: [180, 30], e: [0, 10] }, diamondLevels), diamond, {
      events,
      rows: { b: [{ s: 'abcd', n: 1 }] },
      bytes: { c: 42 },
    });
    expect(a.fragments[0]).toMatchObject({ id: 'a', queuedAt: 1, startedAt: 4, finishedAt: 30, durationMs: 26 });
    // The one byte estimate (src/data/bytes.ts): 64 a row, 16 plus the name a column, 2 a character, 8 a number.
    expect(a.fragments[1]).toMatchObject({ id: 'b', startedAt: 30, finishedAt: 180, bytes: 64 + (16 + 1 + 2 * 4) + (16 + 1 + 8) });
    expect(a.fragments[1]!.queuedAt).toBeUndefined();
    expect(a.fragments[2]!.bytes).toBe(42);
    expect(a.fragments[3]!.bytes).toBeUndefined();
  });

  it('renders a table with the critical fragments starred', () => {
    const text = analyze(resultOf({ a: [0, 30], b: [30, 150], c: [30, 30], d: [180, 30], e: [0, 10] }, diamondLevels), diamond).text();
    const lines = text.split('\n');
    expect(lines[0]).toBe('EXPLAIN ANALYZE q: ok in 212.0 ms, 5 fragments, 0 cache hits, 0 retries');
    expect(lines[1]).toBe('critical path: a → b → d (* below)');
    expect(lines[3]).toMatch(/^ {2}fragment\s+source\s+level\s+status\s+queued\s+started\s+finished\s+duration\s+attempts\s+rows\s+bytes\s+cached$/);
    const starred = lines.filter((l) => l.startsWith('* ')).map((l) => l.slice(2).split(/\s+/)[0]);
    expect(starred).toEqual(['a', 'b', 'd']);
    expect(lines.find((l) => l.startsWith('* b '))).toMatch(/^\* b\s+src\s+1\s+succeeded\s+-\s+30\.0\s+180\.0\s+150\.0\s+1\s+1\s+-\s+no$/);
  });

  it('lists the fragments cut short under a heading that agrees with completeness.complete', () => {
    const stopped = { status: 'succeeded' as const, attempts: 1, cached: false, usedMs: 5 };
    const tail = (complete: boolean, rowsMayBeMissing: boolean, reason: 'limit-stopped' | 'consumer-left') => {
      const result = resultOf({ a: [0, 30], b: [30, 150], c: [30, 30], d: [180, 30], e: [0, 10] }, diamondLevels);
      result.completeness = { complete, fragments: { e: { ...stopped, reason, rowsMayBeMissing } } };
      return analyze(result, diamond).text().split('\n').slice(-2);
    };
    // A satisfied limit stopped it: the answer is complete, and the text must not say otherwise.
    expect(tail(true, false, 'limit-stopped')).toEqual(['complete, though cut short: no rows missing', '  e: succeeded (limit-stopped)']);
    expect(tail(false, true, 'consumer-left')).toEqual(['incomplete: rows may be missing', '  e: succeeded (consumer-left)']);
  });

  it('renders a Mermaid gantt chart: a section per level, crit on exactly the critical bars, then the merge', () => {
    const gantt = analyze(resultOf({ a: [0, 30], b: [30, 150], c: [30, 30], d: [180, 30], e: [0, 10] }, diamondLevels), diamond).mermaid();
    expect(gantt).toBe(
      [
        'gantt',
        '  title EXPLAIN ANALYZE q (ms)',
        '  dateFormat x',
        '  axisFormat %Q',
        '  todayMarker off',
        '  section level 0',
        '    a :crit, f0, 0, 30',
        '    e :f4, 0, 10',
        '  section level 1',
        '    b :crit, f1, 30, 180',
        '    c :f2, 30, 60',
        '  section level 2',
        '    d :crit, f3, 180, 210',
        '  section merge',
        '    merge :m, 210, 212',
      ].join('\n'),
    );
  });

  it('keeps a Gantt task named like a Gantt keyword a task (title, weekday, click, call, section …)', () => {
    const ids = ['title', 'Weekday', 'click', 'call', 'section', 'accTitle', 'excludes', 'orders'];
    const plan = { id: 'q', fragments: ids.map((id) => frag(id)), merge: { op: 'union', inputs: ids } };
    const result = resultOf(Object.fromEntries(ids.map((id, i) => [id, [i, 5]])), {}, {});
    result.fragments.section!.status = 'failed';
    const tasks = analyze(result, plan).mermaid().split('\n').filter((l) => l.startsWith('    ') && !l.startsWith('    merge'));
    expect(tasks).toHaveLength(ids.length);
    // What Mermaid's Gantt lexer (case-insensitive) reads as a statement rather than a task name.
    const keyword = /^\s*(?:(?:click|call|dateformat|axisformat|tickinterval|includes|excludes|todaymarker|weekday|title|accdescription)\s|section\s[^#:\n;]|acc(?:title|descr)\s*[:{])/i;
    for (const line of tasks) expect(line).not.toMatch(keyword);
    const names = tasks.map((l) => l.slice(0, l.lastIndexOf(' :')).trim().replace(/\u200b/g, ''));
    expect(names).toEqual([...ids.slice(0, 4), 'section (failed)', ...ids.slice(5)]);
  });

  it('draws the critical path in red in DOT', () => {
    const dot = analyze(resultOf({ a: [0, 30], b: [30, 150], c: [30, 30], d: [180, 30], e: [0, 10] }, diamondLevels), diamond).dot();
    const red = [...dot.matchAll(/^ {4}"f\d+_(\w+)" \[.*penwidth=3\];$/gm)].map((m) => m[1]);
    expect(red).toEqual(['a', 'b', 'd']);
    expect(dot).toContain('"f0_a" -> "f1_b" [style=dashed, color="#d62728", penwidth=3];');
    expect(dot).toContain('"f0_a" -> "f2_c" [style=dashed];');
  });
});

describe('criticalPath', () => {
  it('is empty when nothing finished, and breaks ties by plan order', () => {
    expect(criticalPath([{ id: 'a', dependsOn: [], finishedAt: undefined }])).toEqual([]);
    expect(criticalPath([{ id: 'x', dependsOn: [], finishedAt: 5 }, { id: 'y', dependsOn: [], finishedAt: 5 }, { id: 'z', dependsOn: ['y', 'x'], finishedAt: 9 }])).toEqual(['x', 'z']);
  });
});

/**
 * A source that sleeps the query's `ms` and returns one row: known latencies on real
 * timers. The gaps (30 ms against 150 ms) are wide enough that scheduling noise cannot
 * reorder finishes; the assertions are on the marked set only, never on times.
 */
function sleepSource(): SourceExecutor<{ ms: number }> {
  return {
    kind: 'sleep',
    querySchema: z.strictObject({ ms: z.number().int().nonnegative() }),
    async execute(query, ctx) {
      await sleep(query.ms, undefined, { signal: ctx.signal });
      return [{ slept: query.ms }];
    },
  };
}

describe('analyze on a real run with known latencies', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  const timed = (id: string, ms: number, dependsOn: string[] = []) => ({ id, source: 'sleep', dependsOn, query: { ms } });

  async function analyzed(plan: unknown): Promise<string[]> {
    executor = createExecutor({ sources: { sleep: sleepSource() }, cache: false });
    const run = executor.run(plan);
    const events: ExecutionEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    const result = await run.result;
    expect(result.status).toBe('ok');
    return analyze(result, plan, { events }).fragments.filter((f) => f.critical).map((f) => f.id);
  }

  it('marks exactly the longest dependency chain (levels schedule)', async () => {
    const plan = {
      fragments: [timed('a', 30), timed('b', 150, ['a']), timed('c', 30, ['a']), timed('d', 30, ['b', 'c']), timed('e', 10)],
      merge: { op: 'union', inputs: ['d', 'e'] },
    };
    expect(await analyzed(plan)).toEqual(['a', 'b', 'd']);
  });

  it('ends the path at the failure that stopped a fail-fast run, not at a fragment it cancelled', async () => {
    const broken: SourceExecutor<{ ms: number }> = {
      kind: 'broken',
      querySchema: z.strictObject({ ms: z.number().int().nonnegative() }),
      async execute(query) {
        await sleep(query.ms);
        throw Object.assign(new Error('no such table: orders'), { retryable: false });
      },
    };
    executor = createExecutor({ sources: { sleep: sleepSource(), broken }, cache: false });
    const plan = {
      schedule: 'eager',
      fragments: [timed('a', 10), { id: 'bad', source: 'broken', dependsOn: ['a'], query: { ms: 30 } }, timed('slow', 5000)],
      merge: { op: 'union', inputs: ['bad', 'slow'] },
    };
    const run = executor.run(plan);
    const events: ExecutionEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    const result = await run.result;
    expect(result.status).toBe('failed');
    expect(result.fragments.slow!.status).toBe('cancelled');
    const a = analyze(result, plan, { events });
    expect(a.criticalPath).toEqual(['a', 'bad']);
    expect(a.text()).toContain('critical path: a → bad');
  });

  it('marks the slow two-step chain over a fast three-step one (eager schedule)', async () => {
    const plan = {
      schedule: 'eager',
      fragments: [timed('x', 150), timed('y', 30, ['x']), timed('p', 30), timed('q', 30, ['p']), timed('r', 30, ['q'])],
      merge: { op: 'union', inputs: ['y', 'r'] },
    };
    expect(await analyzed(plan)).toEqual(['x', 'y']);
  });

  it('shows a fragment that joined an identical load in flight as joined, started when it joined, not as an uncalled miss', async () => {
    // The cache on: identical fragments share one call.
    executor = createExecutor({ sources: { sleep: sleepSource() } });
    const plan = { fragments: [timed('x', 80), timed('y', 80)], merge: { op: 'union', inputs: ['x', 'y'] } };
    const run = executor.run(plan);
    const events: ExecutionEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    const result = await run.result;
    const joinedEvent = events.find((e) => e.type === 'fragment.joined');
    expect(joinedEvent).toBeDefined();
    const joiner = joinedEvent!.type === 'fragment.joined' ? joinedEvent!.fragmentId : '';
    expect(result.fragments[joiner]).toMatchObject({ attempts: 0, calls: 0, cached: false });
    const a = analyze(result, plan, { events });
    const timing = a.fragments.find((f) => f.id === joiner)!;
    expect(timing).toMatchObject({ joined: true, cached: false, attempts: 0, startedAt: joinedEvent!.at });
    expect(a.fragments.find((f) => f.id !== joiner)!.joined).toBeUndefined();
    expect(a.text().split('\n').find((l) => l.slice(2).startsWith(`${joiner} `))).toMatch(/\s0\s+1\s+-\s+joined$/);
  });
});
