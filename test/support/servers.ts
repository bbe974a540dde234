import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe } from 'vitest';

/**
 * The real database servers integration tests run against (never mocks). Defaults are the
 * loopback servers of the dev setup; `TRIBUTARY_PG_URL` / `TRIBUTARY_MYSQL_URL` override.
 * A file that needs a server calls `requireServer` at top level and wraps its tests in
 * `describeWithServer`: when the server is unreachable the tests skip with a message that
 * says how to start it, except under `CI=true`, where the file fails instead.
 *
 * @example
 * const server = await requireServer('postgres');
 * describeWithServer(server, 'postgresSource', () => { ... });
 */

export type ServerKind = 'postgres' | 'mysql';

/** The PostgreSQL URL tests use. */
export function pgUrl(): string {
  return process.env.TRIBUTARY_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

/** The MariaDB/MySQL URL tests use. */
export function mysqlUrl(): string {
  return process.env.TRIBUTARY_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
}

const HOW_TO_START: Record<ServerKind, string> = {
  postgres:
    'start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` ' +
    '(or any PostgreSQL with trust auth and a database `test`), or point TRIBUTARY_PG_URL at one',
  mysql:
    'start it with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` ' +
    '(or any MariaDB/MySQL with root and an empty password and a database `test`), or point TRIBUTARY_MYSQL_URL at one',
};

/** Whether a server answered, and the message to skip with when it did not. */
export interface ServerCheck {
  kind: ServerKind;
  url: string;
  /** `undefined` when the server answered `SELECT 1`. */
  skipReason: string | undefined;
}

/** The URL with its password masked, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}

async function ping(kind: ServerKind, url: string): Promise<void> {
  if (kind === 'postgres') {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
    } finally {
      await client.end().catch(() => undefined);
    }
    return;
  }
  const conn = await mysql.createConnection({ uri: url, connectTimeout: 3000 });
  try {
    await conn.query('SELECT 1');
  } finally {
    conn.destroy();
  }
}

/**
 * Checks that the server answers. Unreachable: resolves with a `skipReason`, or throws when
 * `CI=true` (a CI run must not pass by skipping its integration tests).
 */
export async function requireServer(kind: ServerKind): Promise<ServerCheck> {
  const url = kind === 'postgres' ? pgUrl() : mysqlUrl();
  try {
    await ping(kind, url);
    return { kind, url, skipReason: undefined };
  } catch (error) {
    const label = kind === 'postgres' ? 'PostgreSQL' : 'MariaDB/MySQL';
    const detail = error instanceof Error ? error.message : String(error);
    const reason = `${label} not reachable at ${redact(url)} (${detail}); ${HOW_TO_START[kind]}`;
    if (process.env.CI === 'true') throw new Error(`${reason}. CI=true, so this is a failure, not a skip.`);
    return { kind, url, skipReason: reason };
  }
}

/** `describe` when the server answered; otherwise a skipped `describe` that names the reason. */
export function describeWithServer(check: Pick<ServerCheck, 'skipReason'>, name: string, body: () => void): void {
  // Under CI=true requireServer has already thrown, so this skip only happens on a machine
  // without the server, and it says which one and how to start it.
  if (check.skipReason !== undefined) console.warn(`[skip] ${name}: ${check.skipReason}`);
  describe.skipIf(check.skipReason !== undefined)(check.skipReason === undefined ? name : `${name} — skipped: ${check.skipReason}`, body);
}

/** A table name no other test (or parallel test file) uses: `orders_1f3a9c0b`. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** A plain connection for test setup: DDL, fixtures, observing the server. */
export interface Admin {
  /** Runs one statement (`$1` placeholders on PostgreSQL, `?` on MySQL); its rows. */
  exec(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** The server's id of this connection (pg backend pid / MySQL thread id). */
  id: number;
  close(): Promise<void>;
}

/** An admin connection to PostgreSQL (outside any source's pool). */
export async function pgAdmin(url: string = pgUrl()): Promise<Admin> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  const [row] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
  return {
    id: row?.pid ?? -1,
    exec: async (sql, params = []) => (await client.query(sql, params)).rows as Record<string, unknown>[],
    close: () => client.end().catch(() => undefined),
  };
}

/** Drops PostgreSQL roles a test created, with a connection of its own (after the tables that name them). */
export async function dropPgRoles(url: string, roles: readonly string[]): Promise<void> {
  const cleanup = await pgAdmin(url);
  try {
    for (const role of roles) await cleanup.exec(`DROP ROLE IF EXISTS "${role}"`);
  } finally {
    await cleanup.close();
  }
}

/** An admin connection to MariaDB/MySQL (outside any source's pool). */
export async function mysqlAdmin(url: string = mysqlUrl()): Promise<Admin> {
  const conn = await mysql.createConnection({ uri: url, supportBigNumbers: true, bigNumberStrings: true });
  conn.on('error', () => undefined);
  return {
    id: conn.threadId,
    exec: async (sql, params = []) => {
      const [result] = await conn.query(sql, params);
      return Array.isArray(result) ? (result as Record<string, unknown>[]) : [];
    },
    close: async () => {
      await conn.end().catch(() => conn.destroy());
    },
  };
}

/**
 * Uniquely named scratch tables, dropped together: call `name('orders')` while setting up
 * and `dropAll()` in `afterAll` (it also closes the admin connection).
 *
 * @example
 * const admin = await pgAdmin(); const tables = scratchTables(admin);
 * const orders = tables.name('orders');
 * afterAll(() => tables.dropAll());
 */
export function scratchTables(admin: Admin): { name(prefix: string): string; dropAll(): Promise<void> } {
  const names: string[] = [];
  return {
    name(prefix) {
      const table = uniqueName(prefix);
      names.push(table);
      return table;
    },
    async dropAll() {
      // Names come from uniqueName (letters, digits, _), never from test data.
      for (const table of names.splice(0)) await admin.exec(`DROP TABLE IF EXISTS ${table}`);
      await admin.close();
    },
  };
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes; whether it did. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 2000, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The file URL of a repo file (e.g. `src/sources/postgres/connector.ts`), for a child script's import. */
export function repoFileUrl(path: string): string {
  return new URL(`../../${path}`, import.meta.url).href;
}

/** What a child process did: its exit code (null if killed), output, and whether it timed out. */
export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs a TypeScript ESM script (`.mts`, so no package.json is needed next to it) in a child
 * `node --import tsx` from a temp dir, killing it after `timeoutMs`. Used to prove that a
 * source's close() lets the process exit by itself.
 */
export async function runScript(code: string, env: Record<string, string>, timeoutMs = 20_000): Promise<ScriptResult> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-child-'));
  const file = join(dir, 'script.mts');
  await writeFile(file, code);
  // The repo root, so `--import tsx` and the script's bare imports resolve.
  const cwd = fileURLToPath(new URL('../../', import.meta.url));
  try {
    return await new Promise<ScriptResult>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd, env: { ...process.env, ...env } });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', reject);
      child.on('close', (exitCode) => {
        clearTimeout(timer);
        resolve({ code: exitCode, stdout, stderr, timedOut });
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
