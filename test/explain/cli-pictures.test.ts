import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../cli/support.js';

const plan = join(ROOT, 'examples/demo-plan.json');
const sources = join(ROOT, 'examples/demo-sources.json');
const ids = ['customers', 'orders', 'regions'];
const externalUrls = (text: string): string[] => (text.match(/(?:https?:)?\/\/[^\s"'<>)]+/g) ?? []).filter((u) => u !== 'http://www.w3.org/2000/svg');

describe('tributary explain --format svg | html', () => {
  it('prints the plan as a standalone SVG and as a self-contained page', async () => {
    const svg = await runCli(['explain', plan, '--sources', sources, '--format', 'svg']);
    expect(svg.code).toBe(0);
    expect(svg.stdout.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    for (const id of ids) expect(svg.stdout).toContain(`data-fragment="${id}"`);
    expect(svg.stdout).toContain('crm (sqlite)');

    const html = await runCli(['explain', plan, '--format', 'html']);
    expect(html.code).toBe(0);
    expect(html.stdout.startsWith('<!doctype html>')).toBe(true);
    for (const id of ids) expect(html.stdout).toContain(`data-fragment="${id}"`);
    expect(externalUrls(svg.stdout + html.stdout)).toEqual([]);
  });

  it('with --analyze runs the plan and adds the timeline and the critical path', async () => {
    const out = await runCli(['explain', plan, '--sources', sources, '--analyze', '--quiet', '--format', 'html']);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('<h1>EXPLAIN ANALYZE demo-top-customers</h1>');
    expect(out.stdout).toContain('class="tributary-timeline"');
    expect(out.stdout).toMatch(/critical path: customers → orders/);
    expect(externalUrls(out.stdout)).toEqual([]);
  });

  it('lists the picture formats among the choices', async () => {
    const out = await runCli(['explain', plan, '--format', 'png']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('text, mermaid, dot, svg, html');
  });
});
