import { inspect } from 'node:util';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { createExecutor, httpSource, memorySource, mysqlSource, postgresSource, sqliteSource, type ExecutionEvent, type SourceExecutor } from '../../src/index.js';
import { LiveStore } from '../../src/ui/store.js';
import { startHttpServer, type TestHttpServer } from '../support/http-server.js';
import { describeWithServer, mysqlAdmin, pgAdmin, requireServer, scratchTables } from '../support/servers.js';

/**
 * A database (or an HTTP API) echoes the values it was given in its errors. The caller's
 * result keeps those words; nothing that fans out — events$, spans, the live page's store,
 * the recording — may carry a bound value or a run param's value.
 */
const [postgres, mysql] = await Promise.all([requireServer('postgres'), requireServer('mysql')]);

/** Values of customers, bound by a `$from` into a downstream fragment. */
const CUSTOMERS = [{ email: 'ann.secret@example.com', ssn: 'SSN-123-45-6789' }];

/** Runs `fragment` on a new source (after a memory fragment `c` holding CUSTOMERS) with every channel watched; what each channel saw. */
async function observe(source: () => SourceExecutor, fragment: Record<string, unknown>, params: Record<string, unknown> = {}) {
  const inspected: unknown[] = [];
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const executor = createExecutor({
    sources: { c: memorySource({ tables: { customers: CUSTOMERS } }), s: source() },
    retry: { attempts: 2, initialDelayMs: 1, jitter: 'none' },
    cache: false,
    telemetry: { tracer: provider.getTracer('test') },
    // What the Stately inspector is sent: every event the actors take.
    inspect: (e: InspectionEvent) => void (e.type === '@xstate.event' && inspected.push(e.event)),
  });
  const plan = { id: 'leak', fragments: [{ id: 'c', source: 'c', query: { table: 'customers' } }, { id: 'f', source: 's', dependsOn: ['c'], ...fragment }] };
  const store = new LiveStore();
  const events: ExecutionEvent[] = [];
  executor.events$.subscribe((e) => {
    events.push(e);
    store.onEvent(e);
  });
  try {
    const run = executor.run(plan, { params, record: true });
    store.watch(run, plan);
    const result = await run.result;
    await new Promise((resolve) => setTimeout(resolve, 0));
    const channels = {
      events: inspect(events, { depth: 30 }),
      snapshot: inspect(run.actor.getSnapshot().context, { depth: 30 }),
      inspector: inspect(inspected, { depth: 30 }),
      spans: inspect(exporter.getFinishedSpans().map((s) => ({ status: s.status, events: s.events, attributes: s.attributes })), { depth: 30 }),
      ui: JSON.stringify(store.snapshot()),
      recording: JSON.stringify(run.recording()),
    };
    return { result, events, channels };
  } finally {
    await executor.close();
    await provider.shutdown();
  }
}

/** The run failed with `secret` in its own error, and no channel carries it. */
function expectMasked(seen: Awaited<ReturnType<typeof observe>>, secrets: string[], echoed: string): void {
  expect(seen.result.status).toBe('failed');
  expect(seen.result.errors[0]!.message).toContain(echoed);
  const failed = seen.events.find((e) => e.type === 'fragment.failed');
  expect(failed?.type === 'fragment.failed' && failed.error.message).toContain('[param]');
  for (const [channel, text] of Object.entries(seen.channels)) for (const secret of secrets) expect({ channel, leaked: text.includes(secret) }).toEqual({ channel, leaked: false });
  // The fields that say what went wrong stay.
  expect(seen.channels.spans).toContain('[param]');
  expect(seen.channels.ui).toContain('[param]');
  expect(seen.channels.inspector).toContain('[param]');
}

describeWithServer(postgres, 'PostgreSQL errors that echo bound values', () => {
  let admin: Awaited<ReturnType<typeof pgAdmin>>;
  let tables: ReturnType<typeof scratchTables>;
  let table: string;
  beforeAll(async () => {
    admin = await pgAdmin(postgres.url);
    tables = scratchTables(admin);
    table = tables.name('masked');
    await admin.exec(`CREATE TABLE ${table} (email text PRIMARY KEY)`);
    await admin.exec(`INSERT INTO ${table} VALUES ($1)`, [CUSTOMERS[0]!.email]);
  });
  afterAll(() => tables.dropAll());
  const source = () => postgresSource({ url: postgres.url });

  it('a bad cast of a run param', async () => {
    const seen = await observe(source, { query: { sql: 'SELECT $1::int AS x', params: [{ $param: 'ssn' }] } }, { ssn: 'SSN-987-65-4321' });
    expectMasked(seen, ['SSN-987-65-4321'], 'invalid input syntax for type integer: "SSN-987-65-4321"');
  });

  it('a bad cast of a bound list, and a unique violation whose DETAIL names the key', async () => {
    const cast = await observe(source, { query: { sql: 'SELECT 1 AS x WHERE 1 = ANY($1::int[])', params: [{ $from: 'c', column: 'ssn' }] } });
    expectMasked(cast, ['SSN-123-45-6789'], '"SSN-123-45-6789"');
    const unique = await observe(source, { query: { sql: `INSERT INTO ${table} SELECT unnest($1::text[]) RETURNING email`, params: [{ $from: 'c', column: 'email' }] } });
    expect(unique.result.errors[0]!.message).toContain('duplicate key value');
    expect(inspect(unique.result.errors[0], { depth: 10 })).toContain(`Key (email)=(${CUSTOMERS[0]!.email}) already exists.`);
    for (const text of Object.values(unique.channels)) expect(text).not.toContain(CUSTOMERS[0]!.email);
  });
});

/**
 * Values a server echoes in a form of its own, not the one they were bound in: a moment in its
 * date-time form and zone, a decimal with its column's scale, a float in its exponent notation,
 * a numeric text canonical, a text case-folded. What each echoes is asked of the server itself,
 * through the same connector (the oracle): the run's own error holds it, and no channel may.
 */
async function answer(source: SourceExecutor, sql: string, value: unknown): Promise<unknown> {
  const executor = createExecutor({ sources: { s: source }, cache: false, retry: { attempts: 1 } });
  try {
    const result = await executor.execute({ fragments: [{ id: 'f', source: 's', query: { sql, params: [{ $param: 'v' }] } }] }, { params: { v: value } });
    expect(result.errors).toEqual([]);
    return result.rows[0]?.echo;
  } finally {
    await executor.close();
  }
}

const MOMENT = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
const REWRITTEN: { name: string; value: unknown; pg: string; my?: string }[] = [
  { name: 'a timestamptz', value: MOMENT, pg: '$1::timestamptz', my: 'datetime(3)' },
  { name: 'a timestamp', value: MOMENT, pg: '$1::timestamp', my: 'timestamp(3) NULL' },
  { name: 'a date', value: MOMENT, pg: '$1::date', my: 'date' },
  { name: 'a decimal with a scale', value: 27.125, pg: '$1::numeric(8,4)', my: 'decimal(8,4)' },
  { name: 'a small float', value: 3.5e-7, pg: '$1::float8', my: 'double' },
  { name: 'a large float', value: 123456789012345680000, pg: '$1::float8', my: 'double' },
  { name: 'a numeric text', value: '31.41590', pg: '$1::float8', my: 'double' },
  { name: 'a case-folded text', value: 'Ann.Secret@Example.COM', pg: 'lower($1)' },
];

describeWithServer(postgres, 'PostgreSQL errors that echo a bound value rewritten', () => {
  for (const { name, value, pg } of REWRITTEN) {
    it(name, async () => {
      const echo = String(await answer(postgresSource({ url: postgres.url }), `SELECT (${pg})::text AS echo`, value));
      const seen = await observe(() => postgresSource({ url: postgres.url }), { query: { sql: `SELECT (${pg})::text::int AS x`, params: [{ $param: 'v' }] } }, { v: value });
      expectMasked(seen, [echo], `invalid input syntax for type integer: "${echo}"`);
    });
  }
});

describeWithServer(mysql, 'MariaDB errors that echo a bound value rewritten', () => {
  let admin: Awaited<ReturnType<typeof mysqlAdmin>>;
  let tables: ReturnType<typeof scratchTables>;
  beforeAll(async () => {
    admin = await mysqlAdmin(mysql.url);
    tables = scratchTables(admin);
  });
  afterAll(() => tables.dropAll());

  for (const { name, value, my } of REWRITTEN.filter((c) => c.my !== undefined)) {
    it(name, async () => {
      const table = tables.name('rewritten');
      await admin.exec(`CREATE TABLE ${table} (v ${my} UNIQUE)`);
      await answer(mysqlSource({ url: mysql.url }), `INSERT INTO ${table} VALUES (?)`, value);
      const [row] = await admin.exec(`SELECT CAST(v AS CHAR) AS echo FROM ${table}`);
      const echo = String(row!.echo);
      const seen = await observe(() => mysqlSource({ url: mysql.url }), { query: { sql: `INSERT INTO ${table} VALUES (?)`, params: [{ $param: 'v' }] } }, { v: value });
      expectMasked(seen, [echo], `Duplicate entry '${echo}'`);
    });
  }
});

describeWithServer(mysql, 'MariaDB errors that echo bound values', () => {
  let admin: Awaited<ReturnType<typeof mysqlAdmin>>;
  let tables: ReturnType<typeof scratchTables>;
  let table: string;
  beforeAll(async () => {
    admin = await mysqlAdmin(mysql.url);
    tables = scratchTables(admin);
    table = tables.name('masked');
    await admin.exec(`CREATE TABLE ${table} (email varchar(100) PRIMARY KEY, n int)`);
    await admin.exec(`INSERT INTO ${table} VALUES (?, 1)`, [CUSTOMERS[0]!.email]);
  });
  afterAll(() => tables.dropAll());
  const source = () => mysqlSource({ url: mysql.url });

  it('a duplicate entry and an incorrect integer value', async () => {
    const duplicate = await observe(source, { query: { sql: `INSERT INTO ${table} (email, n) SELECT ?, 2`, params: [{ $param: 'email' }] } }, { email: CUSTOMERS[0]!.email });
    expectMasked(duplicate, [CUSTOMERS[0]!.email], `Duplicate entry '${CUSTOMERS[0]!.email}'`);
    const integer = await observe(source, { query: { sql: `INSERT INTO ${table} (email, n) VALUES ('other@example.org', ?)`, params: [{ $param: 'n' }] } }, { n: 'SSN-555-66-7777' });
    expectMasked(integer, ['SSN-555-66-7777'], "Incorrect integer value: 'SSN-555-66-7777'");
  });
});

describe('SQLite and HTTP errors that echo bound values', () => {
  let server: TestHttpServer;
  beforeAll(async () => {
    server = await startHttpServer({
      // An API that echoes what it was asked, in its error body.
      'GET /lookup': (req, res) => void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no customer ${req.url.searchParams.get('ssn')}` })),
      // A redirect to a target that names the value, and is no URL.
      'GET /moved/:ssn': (req, res) => void res.writeHead(302, { location: `http://[${req.params.ssn}]/x` }).end(),
    });
  });
  afterAll(() => server.close());

  it('SQLite: a bad JSON path from a bound list', async () => {
    const seen = await observe(() => sqliteSource({ file: ':memory:' }), { query: { sql: "SELECT json_extract('{}', value) AS x FROM json_each(?)", params: [{ $from: 'c', column: 'ssn' }] } });
    expectMasked(seen, ['SSN-123-45-6789'], "bad JSON path: 'SSN-123-45-6789'");
  });

  it('HTTP: an error body echoing the query, its URL, and a redirect target', async () => {
    const api = () => httpSource({ baseUrl: server.url });
    const body = await observe(api, { query: { path: '/lookup', searchParams: { ssn: { $from: 'c', column: 'ssn' } } } });
    expectMasked(body, ['SSN-123-45-6789'], 'no customer SSN-123-45-6789');
    const redirect = await observe(api, { query: { path: '/moved/{ssn}', pathParams: { ssn: { $param: 'ssn' } } } }, { ssn: 'SSN-222-33-4444' });
    expectMasked(redirect, ['SSN-222-33-4444'], 'SSN-222-33-4444');
  });
});
