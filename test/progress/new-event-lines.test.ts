import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, memorySource, postgresSource, type Executor } from '../../src/index.js';
import { showProgress } from '../../src/cli/progress-bar.js';
import type { CliIo } from '../../src/cli/io.js';
import { LiveStore } from '../../src/ui/store.js';
import { describeWithServer, pgUrl, requireServer, uniqueName } from '../support/servers.js';

/**
 * The events added with the hedge and batch spans (`fragment.hedge.ended`,
 * `fragment.batch.succeeded`) each get a line of their own — in `tributary run`'s progress
 * lines and in the live page's log — that says what happened, masked like every error text.
 */
const pgCheck = await requireServer('postgres');
const SSN = 'SSN-444-55-6666';

describeWithServer(pgCheck, 'progress lines and the live page log name the new events, on a real PostgreSQL', () => {
  let executor: Executor;
  beforeAll(() => {
    executor = createExecutor({
      sources: { keys: memorySource({ tables: { keys: [1, 2, 3].map((k) => ({ k })) } }), pg: postgresSource({ url: pgUrl(), max: 4 }) },
      cache: false,
      retry: { attempts: 1 },
      hedge: { afterMs: 50, maxExtraRatio: 1 },
      telemetry: false,
    });
  });
  afterAll(() => executor?.close());

  it('a batch that answered, and a hedge call that failed echoing a run param', async () => {
    const id = uniqueName('new_lines');
    const lock = Math.floor(Math.random() * 2 ** 31);
    // The first call takes the lock and answers after a while; the hedge cannot, and fails casting the param.
    const hedged = `SELECT CASE WHEN pg_try_advisory_xact_lock(${lock}) THEN (SELECT 'first' FROM pg_sleep(0.5)) ELSE (CASE WHEN random() >= 0 THEN $1::text END)::int::text END AS won`;
    const plan = {
      id,
      fragments: [
        { id: 'keys', source: 'keys', query: { table: 'keys' } },
        { id: 'b', source: 'pg', dependsOn: ['keys'], query: { sql: 'SELECT k FROM unnest($1::int[]) k', params: [{ $from: 'keys', column: 'k' }] }, batch: { param: 0, size: 2 } },
        { id: 'h', source: 'pg', query: { sql: hedged, params: [{ $param: 'ssn' }] } },
      ],
    };
    let written = '';
    const stderr = new PassThrough();
    stderr.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
    const io: CliIo = { stdout: new PassThrough(), stderr, stdin: new PassThrough(), env: {}, cwd: process.cwd() };
    const store = new LiveStore();
    const run = executor.run(plan, { params: { ssn: SSN } });
    store.watch(run, plan);
    const progress = showProgress(run, { fragments: 3, levels: 2 }, io, 'lines', (text) => text);
    const result = await run.result;
    progress.stop();
    expect(result.errors.map((e) => e.message)).toEqual([]);
    expect(result.status).toBe('ok');
    expect(result.rows.length).toBeGreaterThan(0);

    expect(written).toContain('b (pg), batch 1/2 answered: 2 rows');
    expect(written).toContain('b (pg), batch 2/2 answered: 1 row');
    // Whichever call reached the server second failed (the hedge, unless the first was slow to start).
    expect(written).toMatch(/h \(pg\) the (hedge|primary) call of attempt 1 failed: FRAGMENT_FAILED: /);
    expect(written).toContain('invalid input syntax for type integer: "[param]"');

    const snapshot = store.snapshot();
    const log = snapshot.type === 'snapshot' ? snapshot.log.map((l) => `${l.type} ${l.text}`) : [];
    expect(log).toContain('fragment.batch.succeeded b (pg) attempt 1, batch 1/2 answered: 2 rows');
    expect(log).toContain('fragment.batch.succeeded b (pg) attempt 1, batch 2/2 answered: 1 rows');
    const hedgeLine = log.find((l) => l.startsWith('fragment.hedge.ended'));
    expect(hedgeLine).toMatch(/^fragment\.hedge\.ended h \(pg\) the (hedge|primary) call of attempt 1 failed: FRAGMENT_FAILED .*invalid input syntax for type integer: "\[param\]"/);
    for (const text of [written, JSON.stringify(snapshot)]) expect(text).not.toContain(SSN);
  }, 30_000);
});
