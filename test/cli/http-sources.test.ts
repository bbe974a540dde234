import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';
import { BIN, cliEnv, ROOT, runCli, tempDir } from './support.js';

/** `tributary run` over an `http` source of a sources file, against a real loopback server. */
describe('tributary run over an HTTP source', () => {
  const tmp = tempDir();
  let server: TestHttpServer;

  beforeAll(async () => {
    server = await startHttpServer({ 'GET /slow': reply.stall() });
  });
  afterAll(async () => {
    await server?.close();
    tmp.remove();
  });

  it('says why a base URL on a port fetch refuses (6000, X11) could not be reached, not just "fetch failed"', async () => {
    const sources = tmp.file('bad-port.json', { api: { kind: 'http', baseUrl: 'http://127.0.0.1:6000' } });
    const plan = tmp.file('rates.json', { fragments: [{ id: 'rates', source: 'api', query: { path: '/rates' } }] });
    const out = await runCli(['run', plan, '-s', sources, '-q']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('SOURCE_UNAVAILABLE: fragment "rates" on source "api" failed (attempt 1): GET http://127.0.0.1:6000/rates could not be reached (fetch failed: bad port)');
  });

  it('Ctrl-C (SIGINT) during a call that has not answered aborts the request: the server sees its socket close', async () => {
    const sources = tmp.file('sources.json', { api: { kind: 'http', baseUrl: server.url } });
    const plan = tmp.file('slow.json', { fragments: [{ id: 'slow', source: 'api', query: { path: '/slow' }, timeoutMs: 120_000 }] });
    const child = spawn(process.execPath, [BIN, 'run', plan, '-s', sources], { cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await expect.poll(() => server.hits('GET /slow'), { timeout: 30_000, interval: 100 }).toBe(1);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr).toContain('tributary: interrupted; the query was cancelled');
      // The request's socket closed: the stalled call does not hold the server's resources.
      await server.requests.find((r) => r.route === 'GET /slow')!.socketClosed;
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
