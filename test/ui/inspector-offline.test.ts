import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInspectorRelay, type InspectorRelay } from '../../examples/inspector-relay.js';
import { createExecutor, createLiveView, memorySource, plan, type Executor, type LiveView } from '../../src/index.js';
import { chromiumPath, launch, NO_CHROMIUM } from './browser.js';

const chromium = chromiumPath();
if (!chromium && process.env.CI === 'true') throw new Error(`CI=true: ${NO_CHROMIUM}`);

describe.skipIf(!chromium)("the inspector example's page without the internet", () => {
  let executor: Executor;
  let view: LiveView;
  let relay: InspectorRelay;
  let browser: Browser;

  beforeAll(async () => {
    executor = createExecutor({ sources: { ref: memorySource({ tables: { t: [{ a: 1 }] } }) } });
    view = await createLiveView(executor);
    relay = await startInspectorRelay({ fallbackUrl: () => view.url, fallbackAfterMs: 300 });
    browser = await launch(chromium!);
  });

  afterAll(async () => {
    await browser?.close();
    await relay?.close();
    await view?.close();
    await executor?.close();
  });

  it('shows the live view instead of an empty frame when the hosted inspector cannot load', async () => {
    const p = plan('offline-demo').fragment('t', 'ref', { table: 't' }).build();
    await view.watch(executor.run(p), p).result;

    const page = await browser.newPage();
    // Offline: every request to the hosted inspector fails, as it does without the internet.
    await page.route('https://stately.ai/**', (route) => route.abort('internetdisconnected'));
    await page.goto(relay.pageUrl);
    await expect.poll(() => page.locator('#inspector').getAttribute('src'), { timeout: 10_000 }).toBe(view.url);
    expect(await page.locator('#offline').isVisible()).toBe(true);
    const frame = page.frameLocator('#inspector');
    await expect.poll(() => frame.locator('section.query[data-key^="offline-demo#"]').getAttribute('data-state'), { timeout: 10_000 }).toBe('ok');
    expect(await frame.locator('g.fragment[data-fragment="t"]').getAttribute('data-status')).toBe('succeeded');
    await page.close();
  });
});
