import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

/** The command under test: bin/tributary.js, run as a real child process. */
export const BIN = fileURLToPath(new URL('../../bin/tributary.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The CLI runs from the TypeScript sources (through tsx), so the tests never see a stale
 * dist/. Set TRIBUTARY_TEST_BUILT=1 to test the compiled dist/ after `npm run build`.
 */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (process.env.TRIBUTARY_TEST_BUILT !== '1') env.TRIBUTARY_FROM_SOURCE = '1';
  delete env.FORCE_COLOR;
  return env;
}

export interface CliOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/tributary.js …args` and collects its exit code and output. */
export function runCli(args: readonly string[], options: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<CliOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env: cliEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A temp folder with helpers to write JSON files into it; `remove()` in afterAll. */
export function tempDir(): { dir: string; file(name: string, value: unknown): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-cli-'));
  return {
    dir,
    file(name, value) {
      const path = join(dir, name);
      writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The customers of the test database. */
export const CUSTOMERS = [
  { id: 1, name: 'Ann, "the first"', segment: 'BUILDING', region: 'EU' },
  { id: 2, name: 'Bob', segment: 'BUILDING', region: 'US' },
  { id: 3, name: 'Cy', segment: 'MACHINERY', region: 'EU' },
  { id: 4, name: 'Di\nnewline', segment: 'BUILDING', region: 'EU' },
];

export const ORDERS = [
  { id: 10, customer_id: 1, total: 50 },
  { id: 11, customer_id: 2, total: 70 },
  { id: 12, customer_id: 1, total: 20 },
  { id: 13, customer_id: 3, total: 99 },
  { id: 14, customer_id: 4, total: 15 },
];

/** Writes a SQLite database with the customers table. */
export function writeCrmDb(path: string): void {
  const db = new Database(path);
  db.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, segment TEXT, region TEXT)');
  const insert = db.prepare('INSERT INTO customers VALUES (@id, @name, @segment, @region)');
  for (const c of CUSTOMERS) insert.run(c);
  db.close();
}

/** Sources over the test database (relative path: resolved against the sources file) and memory. */
export function demoSources(dbFile = 'crm.db'): unknown {
  return {
    crm: { kind: 'sqlite', file: dbFile, readonly: true },
    shop: { kind: 'memory', tables: { orders: ORDERS } },
  };
}

/** customers (SQLite, segment = $segment) → orders (memory, bound to customers.id), joined and summed. */
export const demoPlan = {
  id: 'cli-demo',
  fragments: [
    { id: 'customers', source: 'crm', query: { sql: 'SELECT id, name FROM customers WHERE segment = ? ORDER BY id', params: [{ $param: 'segment' }] } },
    { id: 'orders', source: 'shop', dependsOn: ['customers'], query: { table: 'orders', where: { in: ['customer_id', { $from: 'customers', column: 'id' }] } } },
  ],
  merge: {
    op: 'sort',
    by: [{ column: 'id' }],
    input: {
      op: 'aggregate',
      groupBy: ['id', 'name'],
      aggregates: [{ fn: 'count', as: 'orders' }, { fn: 'sum', column: 'total', as: 'total' }],
      input: { op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']] },
    },
  },
};

/** What demoPlan returns for segment BUILDING: computed from the fixtures, not by the engine. */
export function expectedDemoRows(segment = 'BUILDING'): { id: number; name: string; orders: number; total: number }[] {
  return CUSTOMERS.filter((c) => c.segment === segment)
    .map((c) => {
      const mine = ORDERS.filter((o) => o.customer_id === c.id);
      return { id: c.id, name: c.name, orders: mine.length, total: mine.reduce((s, o) => s + o.total, 0) };
    })
    .filter((r) => r.orders > 0);
}

/** A minimal RFC 4180 parser (quoted fields, doubled quotes, CRLF), for checking CSV output. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  if (field !== '' || row.length > 0) throw new Error(`CSV does not end with CRLF: ${JSON.stringify(text.slice(-20))}`);
  return rows;
}

/** Writes the demo's database, plan and sources file into `tmp`; returns the two paths. */
export function writeDemo(tmp: ReturnType<typeof tempDir>): { plan: string; sources: string } {
  writeCrmDb(join(tmp.dir, 'crm.db'));
  return { plan: tmp.file('plan.json', demoPlan), sources: tmp.file('sources.json', demoSources()) };
}
