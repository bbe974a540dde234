import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, plan, postgresSource, type Executor } from '../../src/index.js';
import { createLiveView, type LiveView } from '../../src/ui/index.js';
import { describeWithServer, pgUrl, requireServer, uniqueName } from '../support/servers.js';
import { chromiumPath, launch, NO_CHROMIUM } from './browser.js';

const chromium = chromiumPath();
if (!chromium && process.env.CI === 'true') throw new Error(`CI=true: ${NO_CHROMIUM}`);
const pgCheck = await requireServer('postgres');
const check = { skipReason: chromium ? pgCheck.skipReason : NO_CHROMIUM };

/** The log's red (`#b01e1e`), as the browser computes it. */
const RED = 'rgb(176, 30, 30)';

describeWithServer(check, 'the live page log of hedged calls, in chromium on a real PostgreSQL', () => {
  let executor: Executor;
  let view: LiveView;
  let browser: Browser;

  beforeAll(async () => {
    executor = createExecutor({
      sources: { pg: postgresSource({ url: pgUrl(), max: 4 }) },
      cache: false,
      retry: { attempts: 1 },
      hedge: { afterMs: 50, maxExtraRatio: 1 },
    });
    view = await createLiveView(executor, { port: 0 });
    browser = await launch(chromium!);
  });
  afterAll(async () => {
    await browser?.close();
    await view?.close();
    await executor?.close();
  });

  it('shows a hedged call that failed in red, like the other failures, and one that lost its race not', async () => {
    const [failLock, loseLock] = [0, 1].map(() => Math.floor(Math.random() * 2 ** 31));
    // Whichever call of a pair reaches the server first takes the lock and answers after a while;
    // in `fails` the other cannot and fails casting a text to int (at run time: random() is not folded);
    // in `loses` the other sleeps on and is stopped when the first answers.
    const fails = `SELECT CASE WHEN pg_try_advisory_xact_lock(${failLock}) THEN (SELECT 'first' FROM pg_sleep(0.5)) ELSE (CASE WHEN random() >= 0 THEN 'x' END)::int::text END AS won`;
    const loses = `SELECT CASE WHEN pg_try_advisory_xact_lock(${loseLock}) THEN (SELECT 'first' FROM pg_sleep(0.5)) ELSE (SELECT 'second' FROM pg_sleep(10)) END AS won`;
    const p = plan(uniqueName('hedges')).fragment('fails', 'pg', { sql: fails }).fragment('loses', 'pg', { sql: loses }).merge({ op: 'union', inputs: ['fails', 'loses'] }).build();
    const page = await browser.newPage();
    try {
      await page.goto(view.url);
      await page.waitForSelector('#conn.live');
      const result = await view.watch(executor.run(p), p).result;
      expect(result.status).toBe('ok');
      const line = (fragment: string) => page.locator('#log li.fragment-hedge-ended', { hasText: `${fragment} (pg) the ` });
      await expect.poll(() => line('fails').count(), { timeout: 10_000 }).toBe(1);
      await expect.poll(() => line('loses').count(), { timeout: 10_000 }).toBe(1);
      expect(await line('fails').textContent()).toMatch(/call of attempt 1 failed: FRAGMENT_FAILED .*invalid input syntax for type integer/);
      expect(await line('loses').textContent()).toMatch(/call of attempt 1 lost the race and was stopped$/);
      const color = (fragment: string) => line(fragment).evaluate((li) => li.ownerDocument.defaultView?.getComputedStyle(li).color);
      expect(await color('fails')).toBe(RED);
      expect(await color('loses')).not.toBe(RED);
    } finally {
      await page.close();
    }
  }, 30_000);
});
