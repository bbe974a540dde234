import { describe, expect, it } from 'vitest';
import { repoFileUrl, runScript } from '../support/servers.js';

/**
 * A statement inside one long native step (a count over a billion-row recursive CTE: minutes
 * of work) cannot be stopped by terminating its thread until the step ends. close() must not
 * wait for it beyond its grace (THREAD_CLOSE_GRACE_MS, 1 s). Each case runs in a child
 * process that SIGKILLs itself once it has printed, so the stuck thread dies with it instead
 * of burning CPU after the test; the child's own timeout (25 s, far below the statement's
 * minutes, generous for a loaded machine's tsx start) is the guard.
 */
const LONG = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c WHERE x < 1e9`;

async function inChild(body: string): Promise<unknown> {
  const script = `
    const { createExecutor, sqliteSource } = await import(${JSON.stringify(repoFileUrl('src/index.ts'))});
    const LONG = ${JSON.stringify(LONG)};
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const out = await (async () => { ${body} })();
    console.log(JSON.stringify(out));
    process.kill(process.pid, 'SIGKILL');
  `;
  const result = await runScript(script, {}, 25_000);
  expect(result.stderr).toBe('');
  expect(result.timedOut).toBe(false);
  return JSON.parse(result.stdout);
}

describe('sqliteSource({ thread: true }): close() does not wait for a thread stuck in a native step', () => {
  it('executor.close() resolves after it aborted a long statement; the run is cancelled', { timeout: 30_000 }, async () => {
    const out = await inChild(`
      const executor = createExecutor({ sources: { db: sqliteSource({ file: ':memory:', thread: true }) }, cache: false, telemetry: false });
      const settled = executor.execute({ fragments: [{ id: 'long', source: 'db', query: { sql: LONG } }] }).then((r) => r.status, (e) => e.code);
      await sleep(300);
      await executor.close();
      return { closed: true, settled: await settled };
    `);
    expect(out).toEqual({ closed: true, settled: 'CANCELLED' });
  });

  it("the source's own close() fails the call in flight and resolves", { timeout: 30_000 }, async () => {
    const out = await inChild(`
      const source = sqliteSource({ file: ':memory:', thread: true });
      const call = source.execute({ sql: LONG }, { params: [], signal: new AbortController().signal }).then(() => 'finished', (e) => e.code);
      await sleep(300);
      await source.close();
      await source.close();
      return { closed: true, call: await call };
    `);
    expect(out).toEqual({ closed: true, call: 'SOURCE_UNAVAILABLE' });
  });
});
