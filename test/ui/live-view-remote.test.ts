import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, createExecutor, createWorker, memorySource, type ExecutionEvent, type Executor, type RemoteWorker } from '../../src/index.js';
import { createLiveView, type LiveView } from '../../src/ui/index.js';
import { describeRedis, dropQueues, REDIS_URL } from '../support/redis.js';
import { chromiumPath, launch, NO_CHROMIUM } from './browser.js';

const chromium = chromiumPath();
if (!chromium && process.env.CI === 'true') throw new Error(`CI=true: ${NO_CHROMIUM}`);
if (!chromium) console.warn(NO_CHROMIUM);

const tables = { t: [{ id: 1 }, { id: 2 }] };
/** `shop` goes remote by the executor's `remote.sources`, `ref` by its own `remote: true`, `crm` stays in-process. */
const sources = () => ({ crm: memorySource({ tables }), shop: memorySource({ tables }), ref: { ...memorySource({ tables }), remote: true } });
const planOf = (id: string) => ({
  id,
  fragments: ['crm', 'shop', 'ref'].map((source) => ({ id: `${source}-rows`, source, query: { table: 't' } })),
  merge: { op: 'union', inputs: ['crm-rows', 'shop-rows', 'ref-rows'] },
});

// The live page and EXPLAIN ANALYZE's HTML mark the sources the executor's `remote` option sends to
// BullMQ workers as EXPLAIN does (`shop (remote)`), checked in chromium against a run on real workers.
// Without chromium — a developer's machine that has not installed it — the suite skips, having
// said why above (NO_CHROMIUM); under CI=true a missing chromium fails the file instead, as in
// every browser suite (test/ui/explain-page.test.ts). Redis is required the same way.
(chromium ? describeRedis : describe.skip)('live page and analyze().html() with the executor remote option (chromium)', () => {
  const queue = `tributary-test-live-remote-${randomUUID()}`;
  const remote = { connection: REDIS_URL, queue, sources: ['shop'] };
  let worker: RemoteWorker;
  let executor: Executor;
  let view: LiveView;
  let browser: Browser;

  beforeAll(async () => {
    worker = createWorker({ sources: sources(), connection: REDIS_URL, queue, id: 'w-live' });
    await worker.ready();
    executor = createExecutor({ sources: sources(), cache: false, telemetry: false, remote });
    view = await createLiveView(executor, { port: 0, remote });
    browser = await launch(chromium!);
  });
  afterAll(async () => {
    await browser?.close();
    await view?.close();
    await executor?.close();
    await worker?.close();
    await dropQueues(queue);
  });

  it('draws a watched run with its remote sources marked, and its EXPLAIN ANALYZE page says the same', { timeout: 30_000 }, async () => {
    const page = await browser.newPage();
    await page.goto(view.url);
    await page.waitForSelector('#conn.live');
    const plan = planOf(`live-remote-${randomUUID().slice(0, 8)}`);
    const run = view.watch(executor.run(plan), plan);
    const events: ExecutionEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    const result = await run.result;
    expect(result.status).toBe('ok');
    const query = page.locator(`section.query[data-key^="${plan.id}#"]`);
    const sourceLine = (id: string) => query.locator(`figure.plan g.fragment[data-fragment="${id}"] text:nth-of-type(2)`).textContent();
    await expect.poll(() => sourceLine('shop-rows'), { timeout: 10_000 }).toBe('shop (remote)');
    expect(await sourceLine('crm-rows')).toBe('crm');

    await page.setContent(analyze(result, plan, { events, remote }).html());
    const cells = await page.locator('table tbody tr').evaluateAll((rows) => rows.map((r) => `${r.children[0]?.textContent} ${r.children[1]?.textContent}`));
    expect(cells.sort()).toEqual(['crm-rows crm', 'ref-rows ref', 'shop-rows shop (remote)']);
    expect(await page.locator('figure.plan g.fragment[data-fragment="shop-rows"] text:nth-of-type(2)').textContent()).toBe('shop (remote)');
    await page.close();
  });

  it('lists a run it was not told about with the remote sources marked, and a source given remote: true once a worker ran it', { timeout: 30_000 }, async () => {
    const page = await browser.newPage();
    await page.goto(view.url);
    await page.waitForSelector('#conn.live');
    const plan = planOf(`live-remote-unwatched-${randomUUID().slice(0, 8)}`);
    expect((await executor.execute(plan)).status).toBe('ok');
    const chips = page.locator(`section.query[data-key^="${plan.id}#"] figure.plan .chips span`);
    await expect.poll(async () => (await chips.allTextContents()).sort(), { timeout: 10_000 }).toEqual(['crm-rows · crm', 'ref-rows · ref (remote)', 'shop-rows · shop (remote)']);
    await page.close();
  });
});
