import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze, createExecutor, explain, memorySource, plan, sqliteSource, type ExecutionEvent } from '../../src/index.js';
import { planGraph } from '../../src/explain/graph.js';
import { layoutPlan } from '../../src/explain/layout.js';

const examples = join(import.meta.dirname, '../../examples');
const demoPlan: unknown = JSON.parse(readFileSync(join(examples, 'demo-plan.json'), 'utf8'));
const demoSources = JSON.parse(readFileSync(join(examples, 'demo-sources.json'), 'utf8')) as Record<string, { tables?: Record<string, Record<string, unknown>[]> }>;
const demoIds = ['customers', 'orders', 'regions'];

/** Every URL in a document, but the SVG namespace (a name, never fetched). */
const externalUrls = (text: string): string[] => (text.match(/(?:https?:)?\/\/[^\s"'<>)]+/g) ?? []).filter((u) => u !== 'http://www.w3.org/2000/svg');

async function runDemo() {
  const executor = createExecutor({
    sources: { crm: sqliteSource({ file: ':memory:' }), shop: memorySource({ tables: demoSources.shop!.tables! }), ref: memorySource({ tables: demoSources.ref!.tables! }) },
  });
  try {
    const events: ExecutionEvent[] = [];
    const run = executor.run(demoPlan);
    run.events$.subscribe((e) => events.push(e));
    return analyze(await run.result, demoPlan, { events });
  } finally {
    await executor.close();
  }
}

describe('EXPLAIN as SVG and HTML', () => {
  it('draws every fragment of the demo plan, with its source and the bound columns, and references nothing outside', () => {
    const svg = explain(demoPlan).svg();
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    for (const id of demoIds) {
      expect(svg).toContain(`data-fragment="${id}"`);
      expect(svg).toContain(`>${id}</text>`);
    }
    expect(svg).toMatch(/data-fragment="orders" data-source="shop"/);
    // The bind edge customers → orders carries the bound column; the merge tree is drawn.
    expect(svg).toMatch(/<text[^>]*>id<\/text>/);
    expect(svg).toContain('join inner on id = customer_id');
    expect(externalUrls(svg)).toEqual([]);

    const html = explain(demoPlan).html();
    expect(html.startsWith('<!doctype html>')).toBe(true);
    for (const id of demoIds) expect(html).toContain(`data-fragment="${id}"`);
    expect(externalUrls(html)).toEqual([]);
    expect(html).not.toMatch(/<script|<link|\ssrc=|\shref=|@import|url\((?!#)/i);
  });

  it('lays levels out as bands top to bottom, each fragment inside its own, the merge tree below them all', () => {
    const explained = explain(demoPlan);
    const layout = layoutPlan(planGraph(explained));
    const levelBands = layout.bands.filter((b) => b.kind === 'level');
    expect(levelBands.map((b) => b.label)).toEqual(['level 0', 'level 1']);
    expect(levelBands[0]!.y + levelBands[0]!.height).toBeLessThanOrEqual(levelBands[1]!.y);
    for (const f of explained.fragments) {
      const box = layout.nodes.find((n) => n.fragmentId === f.id)!;
      const band = levelBands[f.level]!;
      expect(box.y).toBeGreaterThanOrEqual(band.y);
      expect(box.y + box.height).toBeLessThanOrEqual(band.y + band.height);
    }
    const lowestFragment = Math.max(...layout.nodes.filter((n) => n.kind === 'fragment').map((n) => n.y + n.height));
    for (const n of layout.nodes.filter((n) => n.kind !== 'fragment')) expect(n.y).toBeGreaterThan(lowestFragment);
    const result = layout.nodes.find((n) => n.kind === 'result')!;
    expect(Math.max(...layout.nodes.map((n) => n.y))).toBe(result.y);
    // Boxes do not overlap.
    for (const a of layout.nodes) {
      for (const b of layout.nodes) {
        if (a === b) continue;
        const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart, `${a.id} overlaps ${b.id}`).toBe(true);
      }
    }
    const bind = layout.edges.find((e) => e.kind === 'bind')!;
    expect(bind.label).toBe('id');
    expect(bind.labelAt).toBeDefined();
  });

  it('escapes whatever a plan says: no query text can add markup', () => {
    const hostile = plan('q&"<x>"')
      .fragment('a', 'db', { sql: `SELECT '</text><script>alert(1)</script>' AS "x&y" -- \u0007` })
      .fragment('b', 'db', { sql: 'SELECT ? AS v', params: [{ $from: 'a', column: '<img src=x onerror=alert(1)>' }] }, { dependsOn: ['a'] })
      .build();
    for (const text of [explain(hostile).svg(), explain(hostile).html()]) {
      expect(text).not.toMatch(/<script|<img/i);
      expect(text).toContain('&lt;/text&gt;&lt;script&gt;');
      expect(text).toContain('&lt;img src=x onerror=alert(1)&gt;');
      expect(text).not.toContain('\u0007');
    }
    expect(explain(hostile).svg()).toContain('aria-label="EXPLAIN q&amp;&quot;&lt;x&gt;&quot;"');
  });

  it('EXPLAIN ANALYZE adds the timeline and the critical path, in the same colours and order', async () => {
    const analysis = await runDemo();
    const timeline = analysis.svg();
    for (const id of demoIds) expect(timeline).toMatch(new RegExp(`<g class="row[^"]*" data-fragment="${id}"`));
    for (const id of analysis.criticalPath) expect(timeline).toMatch(new RegExp(`<g class="row critical" data-fragment="${id}"`));
    expect(timeline).toContain(`critical path: ${analysis.criticalPath.join(' → ')}`);
    expect(analysis.criticalPath.at(-1)).toBe('orders');
    expect(externalUrls(timeline)).toEqual([]);

    const html = analysis.html();
    expect(html).toContain('class="tributary-plan"');
    expect(html).toContain('class="tributary-timeline"');
    // The critical path is drawn on the plan too.
    for (const id of analysis.criticalPath) expect(html).toMatch(new RegExp(`<g class="fragment critical" data-fragment="${id}"`));
    expect(externalUrls(html)).toEqual([]);
  });
});
