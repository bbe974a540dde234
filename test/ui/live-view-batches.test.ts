import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, from, memorySource, plan, postgresSource, type Executor } from '../../src/index.js';
import { createLiveView, type LiveView } from '../../src/ui/index.js';
import { collectEvents, ofType } from '../support/engine.js';
import { describeWithServer, eventually, pgAdmin, pgUrl, requireServer, uniqueName, type Admin } from '../support/servers.js';
import { chromiumPath, launch, NO_CHROMIUM } from './browser.js';

const chromium = chromiumPath();
if (!chromium && process.env.CI === 'true') throw new Error(`CI=true: ${NO_CHROMIUM}`);
const pgCheck = await requireServer('postgres');
const check = { skipReason: chromium ? pgCheck.skipReason : NO_CHROMIUM };

describeWithServer(check, 'the live page during a batched bind join, in chromium on a real PostgreSQL', () => {
  let admin: Admin;
  let executor: Executor;
  let view: LiveView;
  let browser: Browser;
  const fn = uniqueName('live_batches');
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
    view = await createLiveView(executor, { port: 0 });
    browser = await launch(chromium!);
  });
  afterAll(async () => {
    await browser?.close();
    await view?.close();
    await executor?.close();
    await admin?.exec(`DROP FUNCTION IF EXISTS ${fn}(int[])`);
    await admin?.close();
  });

  it('shows the fragment running while one batch waits to retry and another still runs, then retrying once none runs', async () => {
    await admin.exec('SELECT pg_advisory_lock($1::bigint)', [gate]);
    const page = await browser.newPage();
    const p = plan(fn)
      .fragment('keys', 'keys', { table: 'keys' })
      .fragment('rows', 'pg', { sql: `SELECT id FROM ${fn}($1)`, params: [from('keys', 'k')] }, { dependsOn: ['keys'], batch: { param: 0, size: 2 } })
      .build();
    let run: ReturnType<Executor['run']> | undefined;
    try {
      await page.goto(view.url);
      await page.waitForSelector('#conn.live');
      run = view.watch(executor.run(p), p);
      const events = collectEvents(run);
      const box = page.locator(`section.query[data-key^="${fn}#"] figure.plan g.fragment[data-fragment="rows"]`);
      // Batch 1 failed and waits for its retry; batch 0 waits on the server for the gate.
      expect(await eventually(() => Promise.resolve(ofType(events, 'fragment.retrying').length === 1), 10_000, 20)).toBe(true);
      const waiting = async (): Promise<boolean> =>
        (await admin.exec(`SELECT 1 FROM pg_stat_activity WHERE query LIKE $1 AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`, [`%${fn}%`])).length === 1;
      expect(await eventually(waiting, 10_000, 20)).toBe(true);
      expect(ofType(events, 'fragment.attempt.failed').map((e) => e.batch.index)).toEqual([1]);
      // The page has heard the retry (its state change, if any, comes before its log line).
      await expect.poll(() => page.locator('#log li.fragment-retrying').count(), { timeout: 10_000 }).toBe(1);
      expect(await box.getAttribute('data-status')).toBe('running');

      // Batch 0 answers: now nothing of the fragment runs, and it really waits to retry.
      await admin.exec('SELECT pg_advisory_unlock($1::bigint)', [gate]);
      await expect.poll(() => page.locator('#log li.fragment-batch-succeeded').count(), { timeout: 10_000 }).toBe(1);
      await expect.poll(() => box.getAttribute('data-status'), { timeout: 10_000 }).toBe('retrying');
    } finally {
      await admin.exec('SELECT pg_advisory_unlock_all()');
      run?.cancel('test over');
      await run?.result.catch(() => undefined);
      await page.close();
    }
  }, 30_000);
});
