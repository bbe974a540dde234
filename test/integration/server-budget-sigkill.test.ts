import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { describeWithServer, eventually, mysqlAdmin, pgAdmin, repoFileUrl, requireServer, uniqueName, type Admin, type ServerKind } from '../support/servers.js';

const postgres = await requireServer('postgres');
const mysql = await requireServer('mysql');

/** The query's deadline, and the sleep that outlives it. */
const DEADLINE_MS = 1500;
const SLEEP_S = 6;
/** When the test looks for the statement again, from its start: the deadline plus a generous margin. */
const CHECK_AT_MS = 2600;

/**
 * The child: one plan whose only fragment sleeps on the server under a 1.5 s deadline. The
 * deadline is the fragment's (`deadlineMs` on the fragment, which feeds `ctx.budgetMs`); with
 * the run-level query deadline it is the one line `DEADLINE` below:
 * `const DEADLINE = { fragment: {}, run: { deadlineMs: ${DEADLINE_MS} } };`
 */
const CHILD = `
import { createExecutor, postgresSource, mysqlSource } from ${JSON.stringify(repoFileUrl('src/index.ts'))};
const { KIND, URL, SQL } = process.env;
const DEADLINE = { fragment: { deadlineMs: ${DEADLINE_MS} }, run: {} };
const db = KIND === 'postgres' ? postgresSource({ url: URL, max: 1 }) : mysqlSource({ url: URL, connectionLimit: 1 });
const executor = createExecutor({ sources: { db }, retry: { attempts: 1 }, cache: false });
const plan = { id: 'killed-mid-statement', fragments: [{ id: 'slow', source: 'db', query: { sql: SQL }, ...DEADLINE.fragment }] };
console.log('running');
const result = await executor.execute(plan, DEADLINE.run);
console.log('finished', result.status);
`;

/** A statement on the server, and how long it has run by the server's clock. */
interface Seen {
  ageMs: number;
}

const servers: Record<ServerKind, { sql(marker: string): string; admin(url: string): Promise<Admin>; find(admin: Admin, marker: string): Promise<Seen | undefined> }> = {
  postgres: {
    sql: (marker) => `SELECT pg_sleep(${SLEEP_S}) /* ${marker} */`,
    admin: pgAdmin,
    find: async (admin, marker) => {
      const [row] = await admin.exec(
        `SELECT (extract(epoch FROM clock_timestamp() - query_start) * 1000)::int AS age FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()`,
        [`%${marker}%`],
      );
      return row === undefined ? undefined : { ageMs: Number(row.age) };
    },
  },
  mysql: {
    sql: (marker) => `SELECT SLEEP(${SLEEP_S}) AS s /* ${marker} */`,
    admin: mysqlAdmin,
    find: async (admin, marker) => {
      const [row] = await admin.exec(`SELECT * FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'`, [`%${marker}%`]);
      // MariaDB has TIME_MS; MySQL only whole seconds, so its start is taken as when it was seen.
      return row === undefined ? undefined : { ageMs: row.TIME_MS !== undefined ? Number(row.TIME_MS) : 0 };
    },
  },
};

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/**
 * Issue 15's acceptance: the process that sent the statement dies by SIGKILL while it runs
 * (nothing of tributary can cancel anything any more); 2.6 s after the statement started,
 * the server has stopped it by itself, because the statement carried its 1.5 s budget.
 */
async function killMidStatement(kind: ServerKind, url: string): Promise<void> {
  const server = servers[kind];
  const admin = await server.admin(url);
  try {
    const marker = uniqueName(`sigkill_${kind}`);
    const dir = await mkdtemp(join(tmpdir(), 'tributary-sigkill-'));
    dirs.push(dir);
    const file = join(dir, 'child.mts');
    await writeFile(file, CHILD);
    const cwd = fileURLToPath(new URL('../../', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd, env: { ...process.env, KIND: kind, URL: url, SQL: server.sql(marker) }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

    // Seen on the server: the statement runs, sent by the child.
    let seen: Seen | undefined;
    const appeared = await eventually(async () => (seen = await server.find(admin, marker)) !== undefined, 30_000, 20);
    expect(appeared, `the child's statement never showed up on ${kind}; the child said: ${output}`).toBe(true);
    const seenAt = Date.now();
    child.kill('SIGKILL');
    await exited;
    expect(child.signalCode).toBe('SIGKILL');
    expect(output).not.toMatch(/finished/);
    // Killed before tributary's own deadline could have cancelled it: only the server can stop it now.
    expect(seen!.ageMs).toBeLessThan(DEADLINE_MS);

    // CHECK_AT_MS after the statement's start (it started no later than we saw it).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, seenAt + CHECK_AT_MS - seen!.ageMs - Date.now())));
    expect(await server.find(admin, marker), `a ${SLEEP_S} s statement under a ${DEADLINE_MS} ms budget still runs on ${kind} ${CHECK_AT_MS} ms after its start`).toBeUndefined();
  } finally {
    await admin.close();
  }
}

describeWithServer(postgres, 'a process killed mid-statement: PostgreSQL enforces the budget (statement_timeout)', () => {
  it(`pg_sleep(${SLEEP_S}) under a ${DEADLINE_MS} ms deadline is gone ${CHECK_AT_MS} ms after it started`, () => killMidStatement('postgres', postgres.url), 40_000);
});

describeWithServer(mysql, 'a process killed mid-statement: MariaDB/MySQL enforces the budget (max_statement_time)', () => {
  it(`SLEEP(${SLEEP_S}) under a ${DEADLINE_MS} ms deadline is gone ${CHECK_AT_MS} ms after it started`, () => killMidStatement('mysql', mysql.url), 40_000);
});
