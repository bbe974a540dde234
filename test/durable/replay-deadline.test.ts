import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, httpSource, type QueryResult } from '../../src/index.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

/** A recorded run under a query deadline replays to the same drop, on virtual time, with no source. */
const plan = {
  id: 'replayed-deadline',
  fragments: [
    { id: 'fast', source: 'api', query: { path: '/fast' } },
    { id: 'slow', source: 'api', query: { path: '/slow' }, optional: true },
  ],
  merge: { op: 'union', inputs: ['fast', 'slow'] },
};

const shape = (r: QueryResult) => ({
  status: r.status,
  rows: r.rows,
  fragments: Object.fromEntries(Object.entries(r.fragments).map(([id, f]) => [id, f.status])),
  completeness: Object.fromEntries(Object.entries(r.completeness.fragments).map(([id, f]) => [id, [f.status, f.reason, f.rowsMayBeMissing]])),
});

describe('a recorded run under a query deadline', () => {
  let server: TestHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('replays to the same partial result: the optional fragment dropped at the deadline', async () => {
    server = await startHttpServer({ 'GET /fast': reply.json([{ id: 1 }]), 'GET /slow': reply.delay(5_000, reply.json([{ id: 2 }])) });
    const recorder = createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) }, cache: false });
    let recorded: QueryResult;
    let json: string;
    try {
      // 2 s: room for the fast call on a loaded machine, far below the slow one's 5 s.
      const run = recorder.run(plan, { record: true, deadlineMs: 2_000 });
      recorded = await run.result;
      json = JSON.stringify(run.recording());
    } finally {
      await recorder.close();
    }
    await server.close();
    server = undefined;
    expect(shape(recorded)).toEqual({
      status: 'partial',
      rows: [{ id: 1 }],
      fragments: { fast: 'succeeded', slow: 'dropped' },
      completeness: { slow: ['dropped', 'deadline', true] },
    });
    const replayed = await createExecutor().replay(json).result;
    expect(shape(replayed)).toEqual(shape(recorded));
  });
});
