import Database from 'better-sqlite3';
import { get } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, from, memorySource, plan, sqliteSource, TributaryError, type Executor, type Row, type SourceExecutor } from '../../src/index.js';
import { createLiveView, type LiveView } from '../../src/ui/index.js';
import { deferred } from '../support/engine.js';
import { chromiumPath, launch, NO_CHROMIUM } from './browser.js';

const chromium = chromiumPath();
if (!chromium && process.env.CI === 'true') throw new Error(`CI=true: ${NO_CHROMIUM}`);
if (!chromium) console.warn(NO_CHROMIUM);

/** Where CI keeps the screenshot (gitignored). */
const ARTIFACTS = join(import.meta.dirname, '../../artifacts');

/** A source that holds every call until the test opens the gate. */
function gated(source: SourceExecutor, gate: Promise<void>): SourceExecutor {
  return {
    ...source,
    execute: async (query, ctx) => {
      await gate;
      const out = await source.execute(query, ctx);
      if (Array.isArray(out)) return out;
      const rows: Row[] = [];
      for await (const batch of out) rows.push(...batch);
      return rows;
    },
  };
}

const FINAL = ['succeeded', 'cached', 'failed', 'skipped', 'stopped'];

describe.skipIf(!chromium)('live view in a real browser (chromium, playwright-core)', () => {
  let dir: string;
  let executor: Executor;
  let view: LiveView;
  let browser: Browser;
  const gate = deferred<void>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-live-'));
    const file = join(dir, 'crm.db');
    const db = new Database(file);
    db.exec(`
      CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, region TEXT NOT NULL);
      CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, product_id INTEGER NOT NULL);
      INSERT INTO customers VALUES (1, 'Ada', 'EU'), (2, 'Brian', 'US'), (3, 'Chen', 'EU');
      INSERT INTO orders VALUES (10, 1, 1), (11, 1, 2), (12, 3, 2);
    `);
    db.close();
    executor = createExecutor({
      sources: {
        crm: sqliteSource({ file, readonly: true }),
        catalogue: gated(memorySource({ tables: { products: [{ id: 1, product: 'anvil' }, { id: 2, product: 'crane' }] } }), gate.promise),
        ref: memorySource({ tables: { regions: [{ code: 'EU', label: 'Europe' }, { code: 'US', label: 'United States' }], refunds: [] } }),
      },
      retry: { attempts: 1 },
    });
    view = await createLiveView(executor, { port: 0, lanesIntervalMs: 50 });
    browser = await launch(chromium!);
  });

  afterAll(async () => {
    await browser?.close();
    await view?.close();
    await executor?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows every fragment of a run over SQLite + memory reach its final state, then the timeline', async () => {
    // `regions` runs once beforehand, so the plan below is served it from the cache.
    await executor.execute(plan('warm-up').fragment('regions', 'ref', { table: 'regions' }).build());

    const p = plan('live-demo')
      .fragment('customers', 'crm', { sql: 'SELECT id, name, region FROM customers' })
      .fragment('orders', 'crm', { sql: 'SELECT customer_id, product_id FROM orders WHERE customer_id IN (SELECT value FROM json_each(?))', params: [from('customers', 'id')] }, { dependsOn: ['customers'] })
      .fragment('products', 'catalogue', { table: 'products', where: { in: ['id', from('orders', 'product_id')] } }, { dependsOn: ['orders'] })
      .fragment('regions', 'ref', { table: 'regions' })
      .fragment('returns', 'crm', { sql: 'SELECT order_id FROM returns_that_do_not_exist' })
      .fragment('refunds', 'ref', { table: 'refunds', where: { in: ['order_id', from('returns', 'order_id')] } }, { dependsOn: ['returns'] })
      .merge({ op: 'union', inputs: [{ op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']] }, 'products', 'regions', 'refunds'] })
      .options({ errorPolicy: 'partial' })
      .build();

    const page: Page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(view.url);
    await page.waitForSelector('#conn.live');

    const run = view.watch(executor.run(p), p);
    const query = page.locator('section.query[data-key^="live-demo#"]');
    const box = (id: string) => query.locator(`figure.plan g.fragment[data-fragment="${id}"]`);

    // During the run: the DAG is drawn, `products` waits at its source, the query is running.
    await expect.poll(() => box('products').getAttribute('data-status'), { timeout: 10_000 }).toBe('running');
    expect(await query.getAttribute('data-state')).toBe('running');
    expect(await box('customers').getAttribute('data-status')).toBe('succeeded');
    await expect.poll(() => page.locator('#lanes tr[data-lane="catalogue"] td.running').textContent(), { timeout: 5_000 }).toBe('1');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'live-view-running.png') });

    gate.resolve();
    const result = await run.result;
    expect(result.status).toBe('partial');

    // Every fragment reaches its final state on the page, and the timeline appears.
    const ids = ['customers', 'orders', 'products', 'regions', 'returns', 'refunds'];
    expect(await query.locator('figure.plan g.fragment').count()).toBe(ids.length);
    const statuses = (): Promise<(string | null)[]> => Promise.all(ids.map((id) => box(id).getAttribute('data-status')));
    await expect.poll(async () => (await statuses()).every((s) => FINAL.includes(s ?? '')), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => query.getAttribute('data-state'), { timeout: 10_000 }).not.toBe('running');
    await expect.poll(() => query.locator('figure.timeline').isVisible(), { timeout: 10_000 }).toBe(true);
    const shown = await statuses();
    const states = Object.fromEntries(ids.map((id, i) => [id, shown[i]]));
    // The oracle: the run's own result.
    const expected = Object.fromEntries(Object.entries(result.fragments).map(([id, f]) => [id, f.cached ? 'cached' : f.status]));
    expect(states).toEqual(expected);
    expect(states).toEqual({ customers: 'succeeded', orders: 'succeeded', products: 'succeeded', regions: 'cached', returns: 'failed', refunds: 'skipped' });
    expect(await query.getAttribute('data-state')).toBe('partial');

    // The timeline has a row per fragment; the critical path ends at the fragment that finished last.
    expect(await query.locator('figure.timeline g.row[data-fragment]').count()).toBe(6);
    await expect.poll(() => query.locator('figure.timeline text.path').textContent()).toMatch(/^critical path: .*products$/);
    // Progress, the lanes (idle again) and the log.
    expect(await query.locator('.counts').textContent()).toContain('6/6 fragments');
    expect(await page.locator('#lanes tr[data-lane="crm"]').count()).toBe(1);
    await expect.poll(() => page.locator('#lanes tr[data-lane="catalogue"] td.running').textContent()).toBe('0');
    expect(await page.locator('#log li.fragment-failed').count()).toBeGreaterThan(0);

    await page.screenshot({ path: join(ARTIFACTS, 'live-view.png'), fullPage: true });
    // Nothing but this server was asked for anything.
    expect(requests.filter((url) => !url.startsWith(view.url))).toEqual([]);
    await page.close();
  });

  it('shows two overlapping runs of one plan as two queries, each with its own fragments and end', async () => {
    // Two runs of the plan "twin", as two principals (so neither joins the other's call): the
    // slow one's call is held at its source while the quick one fails and ends.
    const held = deferred<void>();
    const quickFails = memorySource({ tables: { t: [{ x: 1 }] } });
    const twin = createExecutor({
      sources: {
        m: {
          ...quickFails,
          execute: async (query, ctx) => {
            if (ctx.principal?.id === 'slow') await held.promise;
            else throw new TributaryError('FRAGMENT_FAILED', 'the quick run fails', { retryable: false });
            return quickFails.execute(query, ctx) as Promise<Row[]>;
          },
        },
      },
      retry: { attempts: 1 },
    });
    const twinView = await createLiveView(twin, { port: 0 });
    const p = plan('twin').fragment('only', 'm', { table: 't' }).build();
    const page: Page = await browser.newPage();
    try {
      await page.goto(twinView.url);
      await page.waitForSelector('#conn.live');
      const slow = twinView.watch(twin.run(p, { principal: { id: 'slow' } }), p);
      const quick = twinView.watch(twin.run(p, { principal: { id: 'quick' } }), p);
      expect((await quick.result).status).toBe('failed');

      const sections = page.locator('section.query[data-key^="twin#"]');
      // Each section as `<its state>:<its fragment's status>`, read at once (no waiting for elements).
      const states = async (): Promise<string[]> =>
        (await sections.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-state')}:${e.querySelector('g.fragment[data-fragment="only"]')?.getAttribute('data-status')}`))).sort();
      // The quick run failed; the slow one is still running its call.
      await expect.poll(states, { timeout: 10_000 }).toEqual(['failed:failed', 'running:running']);
      held.resolve();
      expect((await slow.result).status).toBe('ok');
      await expect.poll(states, { timeout: 10_000 }).toEqual(['failed:failed', 'ok:succeeded']);
    } finally {
      held.resolve();
      await page.close();
      await twinView.close();
      await twin.close();
    }
  });

  it('refuses a foreign Host header (DNS rebinding) and serves nothing but the page and its stream', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      get(view.url, { headers: { host: `evil.example:${view.port}` } }, (res) => resolve(res.resume().statusCode)).on('error', reject);
    });
    expect(status).toBe(403);
    expect((await fetch(new URL('/nothing', view.url))).status).toBe(404);
    const page = await fetch(view.url);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
});
