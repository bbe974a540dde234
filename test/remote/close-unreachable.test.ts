import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { repoFileUrl, runScript } from '../support/servers.js';

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('remote execution without Redis: close()', () => {
  it('lets the process exit at once after a call cancelled while Redis was down (no connect timer left behind)', { timeout: 20_000 }, async () => {
    const port = await closedPort();
    const result = await runScript(
      `
      import { createExecutor, memorySource } from ${JSON.stringify(repoFileUrl('src/index.ts'))};
      const executor = createExecutor({
        sources: { ref: memorySource({ tables: { t: [{ a: 1 }] } }) },
        cache: false,
        telemetry: false,
        remote: { connection: 'redis://127.0.0.1:${port}', queue: 'nowhere', connectTimeoutMs: 5000 },
      });
      const run = executor.run({ fragments: [{ id: 'f', source: 'ref', query: { table: 't' } }] });
      run.result.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      run.cancel('enough');
      await executor.close();
      const closedAt = performance.now();
      process.on('exit', () => console.log('lingered ' + Math.round(performance.now() - closedAt)));
      `,
      {},
    );
    expect(result.timedOut).toBe(false);
    const lingered = Number(/lingered (\d+)/.exec(result.stdout)?.[1] ?? NaN);
    // The connect timeout is 5 s: a timer left running would hold the process that long.
    expect(lingered).toBeLessThan(1500);
  });
});
