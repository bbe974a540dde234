import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cliEnv, ROOT, runCli } from '../cli/support.js';
import type { QueryView } from '../../src/ui/index.js';

const plan = join(ROOT, 'examples/demo-plan.json');
const sources = join(ROOT, 'examples/demo-sources.json');

/** The first `snapshot` message of the page's event stream. */
async function snapshot(url: string): Promise<{ queries: QueryView[] }> {
  const abort = new AbortController();
  const res = await fetch(new URL('/events', url), { signal: abort.signal });
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before a snapshot: ${text}`);
    text += value;
    const match = /event: snapshot\ndata: (.*)\n\n/.exec(text);
    if (match) {
      abort.abort();
      return JSON.parse(match[1]!) as { queries: QueryView[] };
    }
  }
}

describe('tributary run --ui', () => {
  it('serves the live page on 127.0.0.1 during and after the run, until Ctrl-C', async () => {
    const child = spawn(process.execPath, [BIN, 'run', plan, '--sources', sources, '--ui', '--quiet', '--format', 'json'], { cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const staysUp = new Promise<string>((resolve, reject) => {
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        const m = /the live view stays at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      child.on('close', () => reject(new Error(`exited before serving: ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const url = await staysUp;
      expect(stderr).toContain(`tributary: live view at ${url}`);
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('tributary · live');

      const { queries } = await snapshot(url);
      expect(queries).toHaveLength(1);
      const q = queries[0]!;
      expect(q.queryId).toBe('demo-top-customers');
      expect(q.state).toBe('ok');
      expect(Object.fromEntries(Object.entries(q.fragments).map(([id, f]) => [id, f.state]))).toEqual({ customers: 'succeeded', orders: 'succeeded', regions: 'succeeded' });
      expect(q.svg).toContain('data-fragment="orders"');
      expect(q.timeline).toContain('critical path: ');
      expect(q.progress?.percent).toBe(100);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    const rows = JSON.parse(stdout) as unknown[];
    expect(rows.length).toBeGreaterThan(0);
  });

  it('rejects a --ui port that is not one (exit 2, nothing runs)', async () => {
    const out = await runCli(['run', plan, '--sources', sources, '--ui', 'eighty']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--ui: expected a port number from 0 to 65535');
    expect(out.stdout).toBe('');
  });

  it('a --ui port already in use is a usage error naming the port and what to do (exit 2, nothing runs)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const out = await runCli(['run', plan, '--sources', sources, '--ui', String(port)]);
      expect(out.code).toBe(2);
      expect(out.stderr).toContain(`tributary: --ui port ${port} is in use`);
      expect(out.stderr).toContain(`--ui: port ${port} on 127.0.0.1 is already in use; choose another port (--ui <port>), or give --ui without a port to let the system pick a free one`);
      expect(out.stderr).not.toContain('EADDRINUSE');
      expect(out.stdout).toBe('');
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
