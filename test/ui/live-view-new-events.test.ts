import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, from, memorySource, plan, sqliteSource, type Executor } from '../../src/index.js';
import { createLiveView, type LiveView } from '../../src/ui/index.js';
import { chromiumPath, launch, NO_CHROMIUM } from './browser.js';

const chromium = chromiumPath();
if (!chromium && process.env.CI === 'true') throw new Error(`CI=true: ${NO_CHROMIUM}`);
if (!chromium) console.warn(NO_CHROMIUM);

describe.skipIf(!chromium)('the live page log in a real browser (chromium, playwright-core)', () => {
  let executor: Executor;
  let view: LiveView;
  let browser: Browser;

  beforeAll(async () => {
    executor = createExecutor({
      sources: { keys: memorySource({ tables: { keys: [1, 2, 3].map((k) => ({ k })) } }), lite: sqliteSource({ file: ':memory:' }) },
      cache: false,
      retry: { attempts: 1 },
    });
    view = await createLiveView(executor, { port: 0 });
    browser = await launch(chromium!);
  });
  afterAll(async () => {
    await browser?.close();
    await view?.close();
    await executor?.close();
  });

  it("says what each batch of a batched bind join answered (fragment.batch.succeeded), not just the fragment's name", async () => {
    const p = plan('batches')
      .fragment('keys', 'keys', { table: 'keys' })
      .fragment('b', 'lite', { sql: 'SELECT value AS k FROM json_each(?)', params: [from('keys', 'k')] }, { dependsOn: ['keys'], batch: { param: 0, size: 2 } })
      .build();
    const page = await browser.newPage();
    await page.goto(view.url);
    await page.waitForSelector('#conn.live');
    const run = view.watch(executor.run(p), p);
    expect((await run.result).rows).toHaveLength(3);
    const lines = page.locator('#log li.fragment-batch-succeeded');
    await expect.poll(() => lines.count(), { timeout: 10_000 }).toBe(2);
    const texts = (await lines.allTextContents()).map((t) => t.replace(/^\+\s*[\d.]+ ms /, '')).sort();
    expect(texts).toEqual(['batches fragment.batch.succeeded b (lite) attempt 1, batch 1/2 answered: 2 rows', 'batches fragment.batch.succeeded b (lite) attempt 1, batch 2/2 answered: 1 rows']);
    await page.close();
  });
});
