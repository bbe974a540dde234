import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../cli/support.js';

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

  it('prints text with the control characters of names escaped: no forged line, no terminal escape', async () => {
    const tmp = tempDir();
    try {
      // A source name, a column and a query id with a newline and an ESC (clear screen) in them.
      const source = 'm\nforged\u001b[2J';
      const hostile = tmp.file('hostile.json', {
        id: 'q\u001b]0;title\u0007',
        fragments: [
          { id: 'a', source, query: { table: 't' } },
          { id: 'b', source, dependsOn: ['a'], query: { table: 't', where: { in: ['id', { $from: 'a', column: 'id' }] } } },
        ],
        merge: { op: 'join', type: 'inner', left: 'a', right: 'b', on: [['id\nFORGED', 'id']] },
        errorPolicy: 'partial',
      });
      const src = tmp.file('hostile-sources.json', { [source]: { kind: 'memory', tables: { t: [{ id: 1 }] } } });
      const plain = await runCli(['explain', hostile, '--sources', src]);
      const analyzed = await runCli(['explain', hostile, '--sources', src, '--analyze', '--quiet']);
      expect(plain.code).toBe(0);
      const pictures = await Promise.all([
        runCli(['explain', hostile, '--sources', src, '--analyze', '--quiet', '--format', 'mermaid']),
        ...(['mermaid', 'dot', 'svg', 'html'] as const).map((format) => runCli(['explain', hostile, '--sources', src, '--format', format])),
        runCli(['explain', hostile, '--sources', src, '--analyze', '--quiet', '--format', 'dot']),
      ]);
      for (const picture of pictures) {
        expect(picture.stdout.length).toBeGreaterThan(0);
        // eslint-disable-next-line no-control-regex -- as below
        expect(picture.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
      }
      for (const out of [plain.stdout, analyzed.stdout]) {
        // eslint-disable-next-line no-control-regex -- the point: no control character but the line ends
        expect(out).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
        // Every line naming the hostile text has it whole, its newline shown as \n.
        expect(out.split('\n').filter((l) => /forged/i.test(l) && !/\\nforged/i.test(l))).toEqual([]);
        expect(out).toContain('m\\nforged?[2J');
      }
      expect(plain.stdout).toContain('join inner on id\\nFORGED = id');
    } finally {
      tmp.remove();
    }
  });
});
