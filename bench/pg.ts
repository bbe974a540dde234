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
