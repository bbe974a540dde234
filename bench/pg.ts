import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { tiny } from './timing.js';

export const PG_URL = process.env.TRIBUTARY_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The reachable server, or why it is not; groups print `skipped: …` rows for the latter. */
export type PgStatus = { ok: true; url: string } | { ok: false; url: string; skipped: string };

export async function probePg(url = PG_URL): Promise<PgStatus> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ok: true, url };
  } catch (error) {
    return { ok: false, url, skipped: `skipped: PostgreSQL not reachable at ${redact(url)} (${(error as Error).message})` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/**
 * One loopback `SELECT 1` round trip on a connected client, in ms: the lowest of three
 * 500 ms tinybench medians, so that a burst of load from other processes on the machine
 * does not inflate it (a smaller round trip only makes tributary's ratios look worse).
 */
export async function selectOneRoundTrip(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const medians: number[] = [];
    for (let i = 0; i < 3; i++) medians.push((await tiny({ rtt: () => client.query('SELECT 1') }, { timeMs: 500, warmupMs: i === 0 ? 300 : 0 })).rtt!);
    return Math.min(...medians);
  } finally {
    await client.end();
  }
}

/** A table name no concurrent run (or engineer) will pick. */
export function uniqueTable(prefix: string): string {
  return `bench_${prefix}_${process.pid}_${Date.now().toString(36)}`;
}

/** Runs `fn` with a fresh table of `rows` rows (id primary key, customer_id, total, status), dropped after. */
export async function withOrdersTable<T>(url: string, prefix: string, rows: number, fn: (table: string) => Promise<T>): Promise<T> {
  const table = uniqueTable(prefix);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE ${table} (id int PRIMARY KEY, customer_id int NOT NULL, total float8 NOT NULL, status text NOT NULL)`);
    await client.query(
      `INSERT INTO ${table} SELECT g, g % 10000, (g % 997) * 1.5, (ARRAY['new','paid','shipped','closed'])[1 + g % 4] FROM generate_series(1, $1) g`,
      [rows],
    );
    await client.query(`ANALYZE ${table}`);
    return await fn(table);
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await client.end();
  }
}

let clockTicks: number | undefined;

/**
 * CPU time (ms, user + system) the PostgreSQL server's processes on this machine have used
 * so far, read from /proc; undefined where /proc cannot tell (not Linux, or a remote server).
 * A difference of two readings is what the server spent in between, whoever asked.
 */
export function serverCpuMs(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    let ticks = 0;
    let found = false;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')) continue;
        // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
        found = true;
      } catch {
        // The process ended between the listing and the read.
      }
    }
    return found ? (ticks * 1000) / clockTicks : undefined;
  } catch {
    return undefined;
  }
}
