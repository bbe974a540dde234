import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, httpSource, parseRecording, type ExecutionEvent, type Progress, type QueryResult, type QueryRun, type Recording } from '../../src/index.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';
import { A_ROWS, B_ROWS, gatedSource, twoFragmentPlan } from './fixtures/sources.js';

/** A plan with a retried fragment, a failing one (errorPolicy partial) and one skipped after it. */
const plan = {
  id: 'replayed',
  errorPolicy: 'partial',
  fragments: [
    { id: 'flaky', source: 'api', query: { path: '/flaky' } },
    { id: 'patient', source: 'api', query: { path: '/patient' } },
    { id: 'slow', source: 'api', query: { path: '/slow' } },
    { id: 'bad', source: 'api', query: { path: '/bad' } },
    { id: 'after', source: 'api', dependsOn: ['bad'], query: { path: '/slow' } },
  ],
  merge: { op: 'sort', by: [{ column: 'id' }], input: { op: 'union', inputs: ['flaky', 'slow', 'patient'] } },
};

interface Observed {
  events: string[];
  progress: Progress[];
  result: QueryResult;
}

/** What a run showed: each event's type, fragment and attempt, in order; every progress value; the result. */
async function observe(run: QueryRun): Promise<Observed> {
  const events: string[] = [];
  const progress: Progress[] = [];
  run.events$.subscribe((e: ExecutionEvent) => {
    const f = 'fragmentId' in e ? ` ${e.fragmentId}` : '';
    const n = 'attempt' in e ? ` #${e.attempt}` : '';
    // A retry's delay too: jitter is replayed from the recorded draws, Retry-After from the error.
    const d = e.type === 'fragment.retrying' ? ` after ${e.delayMs} ms` : '';
    events.push(`${e.type}${f}${n}${d}`);
  });
  run.progress$.subscribe((p) => progress.push(p));
  return { events, progress, result: await run.result };
}

/** The result without its timings (a replay runs on virtual time). */
function shape(r: QueryResult) {
  return {
    status: r.status,
    rows: r.rows,
    columns: r.columns,
    errors: r.errors.map((e) => ({ code: e.code, message: e.message, retryable: e.retryable, retryAfterMs: e.retryAfterMs })),
    fragments: Object.fromEntries(Object.entries(r.fragments).map(([id, f]) => [id, { status: f.status, attempts: f.attempts, rowCount: f.rowCount, cached: f.cached }])),
    stats: { fragments: r.stats.fragments, retries: r.stats.retries, rowsFetched: r.stats.rowsFetched, cacheHits: r.stats.cacheHits },
  };
}

describe('recorded runs, replayed', () => {
  let server: TestHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('a run with retries and a partial failure replays to the same events, progress and result, with no source reachable', async () => {
    let flakyCalls = 0;
    let patientCalls = 0;
    server = await startHttpServer({
      'GET /patient': (req, res) => (++patientCalls === 1 ? reply.status(503, { 'retry-after': '1' })(req, res) : reply.json([{ id: 3, v: 'patient' }])(req, res)),
      'GET /flaky': (req, res) => (++flakyCalls === 1 ? reply.status(503)(req, res) : reply.json([{ id: 2, v: 'flaky' }])(req, res)),
      'GET /slow': reply.delay(100, reply.json([{ id: 1, v: 'slow' }])),
      'GET /bad': reply.delay(300, reply.status(400)),
    });
    const recorder = createExecutor({
      sources: { api: httpSource({ baseUrl: server.url }) },
      retry: { attempts: 3, initialDelayMs: 20, maxDelayMs: 40, jitter: 'full' },
      concurrency: 1,
    });
    let recorded: Observed;
    let json: string;
    try {
      const run = recorder.run(plan, { record: true });
      recorded = await observe(run);
      json = JSON.stringify(run.recording());
      // The result carries the same recording.
      expect(JSON.stringify(recorded.result.recording)).toBe(json);
    } finally {
      await recorder.close();
    }
    await server.close();
    server = undefined;

    // What was recorded: the retry, the failure, each call's time on the run's clock.
    expect(recorded.result.status).toBe('partial');
    expect(recorded.events.some((e) => e.startsWith('fragment.retrying flaky #2 after '))).toBe(true);
    expect(recorded.events).toContain('fragment.skipped after');
    const recording = parseRecording(json);
    const flaky = recording.calls.filter((c) => c.fragmentId === 'flaky');
    expect(flaky.map((c) => c.outcome)).toEqual(['error', 'rows']);
    expect(flaky[0]).toMatchObject({ error: { code: 'SOURCE_UNAVAILABLE', retryable: true } });
    expect(recording.calls.find((c) => c.fragmentId === 'patient')).toMatchObject({ outcome: 'error', error: { retryable: true, retryAfterMs: 1000 } });
    expect(recorded.events).toContain('fragment.retrying patient #2 after 1000 ms');
    expect(recording.calls.find((c) => c.fragmentId === 'bad')).toMatchObject({ outcome: 'error', error: { code: 'FRAGMENT_FAILED', retryable: false } });
    for (const c of recording.calls) expect(c.endedAt).toBeGreaterThanOrEqual(c.startedAt);

    // Replayed on an executor with no sources at all, from the JSON text.
    const replayed = await observe(createExecutor().replay(json));
    expect(replayed.events).toEqual(recorded.events);
    expect(replayed.progress).toEqual(recorded.progress);
    expect(shape(replayed.result)).toEqual(shape(recorded.result));
  });

  it('round-trips dates, bigints and decimal strings, and the call durations', async () => {
    const source = gatedSource({ a: A_ROWS, b: B_ROWS });
    const executor = createExecutor({ sources: { db: source }, cache: false });
    let recorded: QueryResult;
    let json: string;
    try {
      const run = executor.run(twoFragmentPlan, { record: true, params: {} });
      recorded = await run.result;
      json = JSON.stringify(run.recording());
    } finally {
      await executor.close();
    }
    const replay = createExecutor().replay(JSON.parse(json) as Recording);
    const result = await replay.result;
    expect(result.rows).toEqual(recorded.rows);
    expect(result.rows.some((r) => typeof r.big === 'bigint')).toBe(true);
    expect(result.rows[0]!.since).toBeInstanceOf(Date);
    expect(source.calls).toEqual({ a: 1, b: 1 });
  });

  it('a run without record: true has no recording; a damaged recording is CONFIG_INVALID', async () => {
    const executor = createExecutor({ sources: { db: gatedSource({ a: A_ROWS, b: B_ROWS }) } });
    try {
      const run = executor.run(twoFragmentPlan);
      expect((await run.result).recording).toBeUndefined();
      expect(run.recording()).toBeUndefined();
      expect(() => executor.replay('{"format":"tributary-recording","version":1}')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
      expect(() => executor.replay('not json')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    } finally {
      await executor.close();
    }
  });
});
