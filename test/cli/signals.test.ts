import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithServer, eventually, mysqlAdmin, mysqlUrl, pgAdmin, pgUrl, requireServer, uniqueName, type Admin } from '../support/servers.js';
import { BIN, cliEnv, ROOT, tempDir } from './support.js';

/**
 * Ctrl-C (SIGINT) and `kill` (SIGTERM: a process manager, `timeout`, a CI runner's cancel)
 * during a long statement: the run is cancelled, so the statement stops on its server —
 * a client that just dies leaves a MariaDB statement running to its end.
 */
const pgCheck = await requireServer('postgres');
const myCheck = await requireServer('mysql');

/** Starts `tributary run` (progress as plain lines on stderr); its exit code and signal, and its stderr. */
function start(args: string[]): { pid: number; stderr(): string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { pid: child.pid!, stderr: () => stderr, exited };
}

describeWithServer(pgCheck.skipReason ? pgCheck : myCheck, 'tributary run stopped by a signal during a long statement, on PostgreSQL and MariaDB', () => {
  const tmp = tempDir();
  let pg: Admin;
  let my: Admin;
  let sources: string;

  beforeAll(async () => {
    pg = await pgAdmin();
    my = await mysqlAdmin();
    sources = tmp.file('sources.json', { shop: { kind: 'postgres', url: pgUrl() }, crm: { kind: 'mysql', url: mysqlUrl() } });
  });
  afterAll(async () => {
    await pg?.close();
    await my?.close();
    tmp.remove();
  });

  const cases = [
    { signal: 'SIGINT', code: 130, said: 'tributary: interrupted; the query was cancelled', source: 'shop', sql: (tag: string) => `SELECT pg_sleep(60) AS x, '${tag}' AS tag` },
    { signal: 'SIGTERM', code: 143, said: 'tributary: terminated (SIGTERM); the query was cancelled', source: 'crm', sql: (tag: string) => `SELECT SLEEP(60) AS x, '${tag}' AS tag` },
    { signal: 'SIGTERM', code: 143, said: 'tributary: terminated (SIGTERM); the query was cancelled', source: 'shop', sql: (tag: string) => `SELECT pg_sleep(60) AS x, '${tag}' AS tag` },
  ] as const;

  for (const c of cases) {
    it(`${c.signal} on ${c.source === 'shop' ? 'PostgreSQL' : 'MariaDB'}: exits ${c.code}, saying so, and the statement stops on the server`, async () => {
      const tag = uniqueName('signal');
      // The statement as the server lists it, by its unique tag (not this admin connection's own query).
      const running = async (): Promise<number> =>
        c.source === 'shop'
          ? (await pg.exec(`SELECT 1 FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()`, [`%'${tag}'%`])).length
          : (await my.exec(`SELECT 1 FROM information_schema.processlist WHERE info LIKE ? AND id <> connection_id()`, [`%'${tag}'%`])).length;
      const plan = tmp.file(`${tag}.json`, { id: tag, fragments: [{ id: 'slow', source: c.source, query: { sql: c.sql(tag) }, timeoutMs: 120_000 }] });
      const cli = start(['run', plan, '-s', sources]);
      try {
        expect(await eventually(async () => (await running()) === 1, 30_000, 100)).toBe(true);
        process.kill(cli.pid, c.signal);
        expect(await cli.exited).toEqual({ code: c.code, signal: null });
        expect(cli.stderr()).toContain(c.said);
        expect(cli.stderr()).toContain('slow (' + c.source + ') cancelled: the query ended before it finished');
        // Gone from the server well before its 60 s.
        expect(await eventually(async () => (await running()) === 0, 5_000, 100)).toBe(true);
      } finally {
        try {
          process.kill(cli.pid, 'SIGKILL');
        } catch {
          // already exited
        }
        // Never leave a sleeping statement behind for the other tests.
        if (c.source === 'shop') await pg.exec(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()`, [`%'${tag}'%`]);
        else for (const row of await my.exec(`SELECT id FROM information_schema.processlist WHERE info LIKE ? AND id <> connection_id()`, [`%'${tag}'%`])) await my.exec(`KILL QUERY ${Number(row.id)}`);
      }
    }, 60_000);
  }
});
