import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explain, plan } from '../../src/index.js';
import { chromiumPath, launch, NO_CHROMIUM } from './browser.js';

const chromium = chromiumPath();
if (!chromium && process.env.CI === 'true') throw new Error(`CI=true: ${NO_CHROMIUM}`);

const demoPlan: unknown = JSON.parse(readFileSync(join(import.meta.dirname, '../../examples/demo-plan.json'), 'utf8'));

describe.skipIf(!chromium)('EXPLAIN pictures in a real browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch(chromium!);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('the SVG is well-formed XML and the HTML page draws every fragment without asking the network for anything', async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    // A strict XML parse of the standalone SVG: any escaping slip is a parser error.
    const parsed = await page.evaluate(
      `(() => { const d = new DOMParser().parseFromString(${JSON.stringify(explain(demoPlan).svg())}, 'image/svg+xml');
        return { error: d.querySelector('parsererror')?.textContent ?? null, fragments: [...d.querySelectorAll('g.fragment')].map((g) => g.getAttribute('data-fragment')) }; })()`,
    );
    expect(parsed).toEqual({ error: null, fragments: ['customers', 'orders', 'regions'] });
    // The check can fail: a stray `&` is a parser error.
    const broken = await page.evaluate(`new DOMParser().parseFromString('<svg xmlns="http://www.w3.org/2000/svg"><text>a & b</text></svg>', 'image/svg+xml').querySelector('parsererror') !== null`);
    expect(broken).toBe(true);
    // Hostile text stays text.
    const hostile = plan('q&"<x>"').fragment('a', 'db', { sql: `SELECT '</text><script>alert(1)</script>' AS "x&y"` }).build();
    const text = await page.evaluate(
      `(() => { const d = new DOMParser().parseFromString(${JSON.stringify(explain(hostile).svg())}, 'image/svg+xml');
        return d.querySelector('parsererror') ? 'parser error' : [...d.querySelectorAll('script')].length + ' ' + d.querySelector('g.fragment text:nth-of-type(3)').textContent; })()`,
    );
    expect(text).toMatch(/^0 SELECT '<\/text><script>alert\(1\)<\/script>' AS /);

    await page.setContent(explain(demoPlan).html());
    for (const id of ['customers', 'orders', 'regions']) {
      const box = page.locator(`svg g.fragment[data-fragment="${id}"]`);
      expect(await box.isVisible()).toBe(true);
      expect(await box.locator('text.title').textContent()).toBe(id);
    }
    expect(await page.locator('table tbody tr').count()).toBe(3);
    expect(requests.filter((url) => !url.startsWith('about:') && !url.startsWith('data:'))).toEqual([]);
    await page.close();
  });
});
