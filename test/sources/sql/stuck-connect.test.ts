import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, type Executor } from '../../../src/executor.js';
import { postgresSource } from '../../../src/sources/postgres/connector.js';
import { mysqlSource } from '../../../src/sources/mysql/connector.js';
import { openPgPool, PG_CONNECT_TIMEOUT_MS } from '../../../src/sources/postgres/pool.js';
import type { SourceExecutor } from '../../../src/sources/source.js';
import { viaPort } from '../../support/fault-plans.js';
import { describeWithServer, requireServer, type ServerCheck } from '../../support/servers.js';

/**
 * A loopback proxy that accepts every connection and, while `silent`, never answers it (a
 * network partition, a black-hole middlebox). Connections accepted while silent stay silent
 * for good; once `forward()` is called, new ones reach the real server.
 */
async function silentProxy(target: URL): Promise<{ port: number; accepted(): number; forward(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let silent = true;
  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted++;
    sockets.add(client);
    client.on('error', () => undefined);
    client.on('close', () => sockets.delete(client));
    if (silent) return;
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => sockets.delete(upstream));
    client.on('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    forward: () => void (silent = false),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const pgServer = await requireServer('postgres');
const myServer = await requireServer('mysql');

/** `patient`: a driver that never gives up a connect by itself (only tributary can let it go). */
const cases: { name: string; check: ServerCheck; source: (url: string, patient?: boolean) => SourceExecutor }[] = [
  { name: 'PostgreSQL', check: pgServer, source: (url, patient) => postgresSource({ url, max: 2, name: 'db', ...(patient ? { connectionTimeoutMillis: 0 } : {}) }) },
  { name: 'MariaDB', check: myServer, source: (url, patient) => mysqlSource({ url, connectionLimit: 2, name: 'db', ...(patient ? { connectTimeout: 3_600_000 } : {}) }) },
];

const plan = (id: string) => ({
  id,
  errorPolicy: 'partial' as const,
  fragments: [{ id: 'f', source: 'db', query: { sql: 'SELECT 1 AS x', params: [] } }],
});

for (const c of cases) {
  describeWithServer(c.check, `${c.name} source: connects the server never answers`, () => {
    let proxy: Awaited<ReturnType<typeof silentProxy>> | undefined;
    let executor: Executor | undefined;
    afterEach(async () => {
      await executor?.close();
      await proxy?.close();
    });

    it('recovers as soon as the network does: an abandoned connect keeps no slot of the pool', async () => {
      proxy = await silentProxy(new URL(c.check.url));
      executor = createExecutor({ sources: { db: c.source(viaPort(c.check.url, proxy.port)) }, retry: { attempts: 1 }, cache: false, timeoutMs: 300 });
      // Twice the pool's size: two calls open connections, two wait for them.
      const lost = await Promise.all([1, 2, 3, 4].map((i) => executor!.execute(plan(`silent-${i}`))));
      expect(lost.map((r) => r.errors.map((e) => e.code))).toEqual([['TIMEOUT'], ['TIMEOUT'], ['TIMEOUT'], ['TIMEOUT']]);
      proxy.forward();
      // Well inside the default connect timeout (10 s): the silent connects were let go.
      const back = await Promise.all([1, 2].map((i) => executor!.execute(plan(`back-${i}`))));
      expect(back.map((r) => [r.status, r.rows])).toEqual([
        ['ok', [{ x: 1 }]],
        ['ok', [{ x: 1 }]],
      ]);
    });

    it('close() returns while a connect is stuck that the driver would wait on forever', async () => {
      proxy = await silentProxy(new URL(c.check.url));
      // No connect timeout and an hour-long attempt: only close() itself can end the wait,
      // so a close() that waited on the pool would hang the test (it did, before the fix).
      executor = createExecutor({ sources: { db: c.source(viaPort(c.check.url, proxy.port), true) }, retry: { attempts: 1 }, cache: false, timeoutMs: 3_600_000 });
      const run = executor.run(plan('stuck'));
      run.result.catch(() => undefined);
      while (proxy.accepted() === 0) await new Promise((r) => setTimeout(r, 10));
      await executor.close();
      await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    });
  });
}

describe('postgres pool', () => {
  it(`gives up a connect after ${PG_CONNECT_TIMEOUT_MS} ms unless told otherwise (pg alone waits forever)`, async () => {
    const byDefault = openPgPool({});
    const told = openPgPool({ connectionTimeoutMillis: 1500 });
    // The limit is each new connection's own; the pool's queue has none (see below).
    const connectLimit = (p: ReturnType<typeof openPgPool>): unknown => {
      const Client = p.pool.options.Client as unknown as new (options: object) => { _connectionTimeoutMillis?: number };
      return new Client(p.pool.options)._connectionTimeoutMillis;
    };
    expect(connectLimit(byDefault)).toBe(10_000);
    expect(connectLimit(told)).toBe(1500);
    await Promise.all([byDefault.end(), told.end()]);
  });
});

describeWithServer(pgServer, 'PostgreSQL source: waiting for a busy pool is not a connect', () => {
  let executor: Executor | undefined;
  let proxy: Awaited<ReturnType<typeof silentProxy>> | undefined;
  afterEach(async () => {
    await executor?.close();
    await proxy?.close();
  });

  it('a call queued behind busy connections waits past connectionTimeoutMillis, within its own timeout', async () => {
    // One connection, two calls at once: the second waits for the first to give it back.
    // pg-pool timed that wait out at connectionTimeoutMillis, as SOURCE_UNAVAILABLE.
    const source = postgresSource({ url: pgServer.url, max: 1, maxConcurrency: 2, connectionTimeoutMillis: 300, name: 'db' });
    executor = createExecutor({ sources: { db: source }, retry: { attempts: 1 }, cache: false, timeoutMs: 10_000 });
    const result = await executor.execute({
      id: 'busy',
      errorPolicy: 'partial',
      fragments: ['a', 'b'].map((id) => ({ id, source: 'db', query: { sql: `SELECT pg_sleep(1), '${id}' AS id`, params: [] } })),
      merge: { op: 'sort', by: [{ column: 'id' }], input: { op: 'union', inputs: ['a', 'b'] } },
    });
    expect(result.errors.map((e) => e.message)).toEqual([]);
    expect(result.rows.map((r) => r.id)).toEqual(['a', 'b']);
  });

  it('the version lookup (for cache keys) still gives up on a busy pool after connectionTimeoutMillis', async () => {
    // A cache key waits for it, outside any call's timeout: it must not wait on the statement
    // holding the pool's one connection (a failed lookup only bypasses the cache).
    const source = postgresSource({ url: pgServer.url, max: 1, connectionTimeoutMillis: 300, name: 'db' });
    try {
      const busy = Promise.resolve(source.execute({ sql: 'SELECT pg_sleep(2)' }, { params: [], signal: new AbortController().signal }));
      await new Promise((r) => setTimeout(r, 100));
      const version = Promise.resolve(source.version?.());
      const first = await Promise.race([version.then(() => 'version', () => 'version failed'), busy.then(() => 'statement')]);
      expect(first).toBe('version failed');
      await busy;
      expect(await source.version?.()).toMatch(/^postgres:/);
    } finally {
      await source.close?.();
    }
  });

  it('a connect the server never answers still gives up after connectionTimeoutMillis, as SOURCE_UNAVAILABLE', async () => {
    proxy = await silentProxy(new URL(pgServer.url));
    const source = postgresSource({ url: viaPort(pgServer.url, proxy.port), max: 1, connectionTimeoutMillis: 300, name: 'db' });
    executor = createExecutor({ sources: { db: source }, retry: { attempts: 1 }, cache: false, timeoutMs: 10_000 });
    const result = await executor.execute(plan('silent'));
    expect(result.errors.map((e) => e.code)).toEqual(['SOURCE_UNAVAILABLE']);
  });
});
