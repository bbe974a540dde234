import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { showProgress } from '../../src/cli/progress-bar.js';
import type { CliIo } from '../../src/cli/io.js';
import { createExecutor, from, memorySource, postgresSource, type Executor } from '../../src/index.js';
import { collectEvents, ofType } from '../support/engine.js';
import { describeWithServer, eventually, pgAdmin, pgUrl, requireServer, uniqueName, type Admin } from '../support/servers.js';

const pgCheck = await requireServer('postgres');

/** A terminal's stderr: what the bar draws, its frames split on carriage returns, escapes stripped. */
function terminal(): { io: CliIo; frames(): string[] } {
  const stderr = Object.assign(new PassThrough(), { isTTY: true, columns: 400 });
  let output = '';
  stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const io: CliIo = { stdout: new PassThrough(), stderr, stdin: new PassThrough(), env: {}, cwd: process.cwd() };
  return {
    io,
    // A frame starts where the cursor goes back to the line's start (`ESC [ 1 G`, cli-progress's cursorTo(0)).
    // eslint-disable-next-line no-control-regex -- stripping terminal escapes
    frames: () => output.split(/\x1b\[1G|\r|\n/).map((l) => l.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '')).filter((l) => l.includes(' fragments: ')),
  };
}

describeWithServer(pgCheck, 'the CLI progress bar during a batched bind join, on a real PostgreSQL', () => {
  let admin: Admin;
  let executor: Executor;
  const fn = uniqueName('bar_batches');
  const gate = Math.floor(Math.random() * 2 ** 31);

  beforeAll(async () => {
    admin = await pgAdmin();
    // The batch holding key 1 waits for the gate (held here); the one holding key 3 fails, retryable.
    await admin.exec(`CREATE FUNCTION ${fn}(keys int[]) RETURNS TABLE(id int) LANGUAGE plpgsql AS $$
      BEGIN
        IF 1 = ANY(keys) THEN PERFORM pg_advisory_xact_lock_shared(${gate}); END IF;
        IF 3 = ANY(keys) THEN RAISE EXCEPTION 'try again' USING ERRCODE = '40001'; END IF;
        RETURN QUERY SELECT unnest(keys);
      END $$`);
    executor = createExecutor({
      sources: { keys: memorySource({ tables: { keys: [1, 2, 3, 4].map((k) => ({ k })) } }), pg: postgresSource({ url: pgUrl() }) },
      cache: false,
      // A long backoff: the failed batch waits while the other still runs.
      retry: { attempts: 2, initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'none' },
    });
  });
  afterAll(async () => {
    await executor?.close();
    await admin?.exec(`DROP FUNCTION IF EXISTS ${fn}(int[])`);
    await admin?.close();
  });

  it('keeps a fragment in `running` while one batch waits to retry and another batch still runs', async () => {
    await admin.exec('SELECT pg_advisory_lock($1::bigint)', [gate]);
    const { io, frames } = terminal();
    const run = executor.run({
      id: fn,
      fragments: [
        { id: 'keys', source: 'keys', query: { table: 'keys' } },
        { id: 'rows', source: 'pg', dependsOn: ['keys'], query: { sql: `SELECT id FROM ${fn}($1)`, params: [from('keys', 'k')] }, batch: { param: 0, size: 2 } },
      ],
    });
    const events = collectEvents(run);
    const progress = showProgress(run, { fragments: 2, levels: 2 }, io, 'bar', (s) => s);
    try {
      // Batch 1 failed and waits for its retry; batch 0 waits on the server for the gate.
      expect(await eventually(() => Promise.resolve(ofType(events, 'fragment.retrying').length === 1), 10_000, 20)).toBe(true);
      const waiting = async (): Promise<boolean> => (await admin.exec(`SELECT 1 FROM pg_stat_activity WHERE query LIKE $1 AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`, [`%${fn}%`])).length === 1;
      expect(await eventually(waiting, 10_000, 20)).toBe(true);
      expect(ofType(events, 'fragment.attempt.failed').map((e) => e.batch.index)).toEqual([1]);
      // The bar redraws on its own timer: wait for a frame drawn after the retry was counted.
      expect(await eventually(() => Promise.resolve(frames().some((f) => f.includes('retries: 1'))), 10_000, 20)).toBe(true);
      expect(frames().at(-1)).toMatch(/\| running: pg \| retries: 1 \|/);
    } finally {
      await admin.exec('SELECT pg_advisory_unlock($1::bigint)', [gate]);
      run.cancel('test over');
      await run.result.catch(() => undefined);
      progress.stop();
    }
  }, 30_000);
});
