import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Executor } from '../../src/index.js';
import { createLiveView, type LiveView } from '../../src/ui/index.js';
import { collectEvents, ofType } from '../support/engine.js';
import { openGatedBatches, type GatedBatches } from '../support/gated-batches.js';
import { describeWithServer, eventually, requireServer } from '../support/servers.js';
import { chromiumPath, launch, NO_CHROMIUM } from './browser.js';

const chromium = chromiumPath();
if (!chromium && process.env.CI === 'true') throw new Error(`CI=true: ${NO_CHROMIUM}`);
const pgCheck = await requireServer('postgres');
const check = { skipReason: chromium ? pgCheck.skipReason : NO_CHROMIUM };

describeWithServer(check, 'the live page during a batched bind join, in chromium on a real PostgreSQL', () => {
  let batches: GatedBatches;
  let view: LiveView;
  let browser: Browser;

  beforeAll(async () => {
    batches = await openGatedBatches('live_batches');
    view = await createLiveView(batches.executor, { port: 0 });
    browser = await launch(chromium!);
  });
  afterAll(async () => {
    await browser?.close();
    await view?.close();
    await batches?.close();
  });

  it('shows the fragment running while one batch waits to retry and another still runs, then retrying once none runs', async () => {
    const { executor, fn, plan: p } = batches;
    await batches.hold();
    const page = await browser.newPage();
    let run: ReturnType<Executor['run']> | undefined;
    try {
      await page.goto(view.url);
      await page.waitForSelector('#conn.live');
      run = view.watch(executor.run(p), p);
      const events = collectEvents(run);
      const box = page.locator(`section.query[data-key^="${fn}#"] figure.plan g.fragment[data-fragment="rows"]`);
      // Batch 1 failed and waits for its retry; batch 0 waits on the server for the gate.
      expect(await eventually(() => Promise.resolve(ofType(events, 'fragment.retrying').length === 1), 10_000, 20)).toBe(true);
      expect(await batches.blocked()).toBe(true);
      expect(ofType(events, 'fragment.attempt.failed').map((e) => e.batch.index)).toEqual([1]);
      // The page has heard the retry (its state change, if any, comes before its log line).
      await expect.poll(() => page.locator('#log li.fragment-retrying').count(), { timeout: 10_000 }).toBe(1);
      expect(await box.getAttribute('data-status')).toBe('running');

      // Batch 0 answers: now nothing of the fragment runs, and it really waits to retry.
      await batches.release();
      await expect.poll(() => page.locator('#log li.fragment-batch-succeeded').count(), { timeout: 10_000 }).toBe(1);
      await expect.poll(() => box.getAttribute('data-status'), { timeout: 10_000 }).toBe('retrying');
    } finally {
      await batches.release();
      run?.cancel('test over');
      await run?.result.catch(() => undefined);
      await page.close();
    }
  }, 30_000);
});
