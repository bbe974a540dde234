import type { Plan } from '../../src/plan/index.js';
import type { Row } from '../../src/data/row.js';
import { switchable, trackRequests, type RequestTracker, type Switchable } from './fault-http.js';
import { unionPlan } from './fault-plans.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { reply, startHttpServer, type TestHttpServer } from './http-server.js';

/** The loopback APIs of the HTTP fault suites: created per test, closed together after it. */

export const apiRows: Row[] = Array.from({ length: 400 }, (_, i) => ({ id: i + 1, name: `row ${i + 1} ${'y'.repeat(80)}`, frag: 'api' }));

export interface Api {
  server: TestHttpServer;
  tracker: RequestTracker;
  route: Switchable;
  url: string;
}


/** One-row answers for `/item/:i`, tagged with the fragment id. */
export const itemRows = reply.dynamic((req) => [{ id: Number(req.params.i), frag: `api_${req.params.i}` }]);

/** A plan of the API's `/rows` and the local fragment, merged. */
export const apiPlan = (id: string, extra: Partial<Plan> = {}): Plan =>
  unionPlan(id, { id: 'api', source: 'api', query: { path: '/rows' } }, { deadlineMs: 5000, ...extra });

/** `n` one-row fragments on the API plus the local one, all merged. */
export const manyPlan = (id: string, n: number, extra: Partial<Plan> = {}): Plan => ({
  id,
  errorPolicy: 'partial',
  fragments: [
    ...Array.from({ length: n }, (_, i) => ({ id: `api_${i}`, source: 'api', query: { path: `/item/${i}` } })),
    { id: 'local', source: 'local', query: { table: 'ref' } },
  ],
  merge: { op: 'union', inputs: [...Array.from({ length: n }, (_, i) => `api_${i}`), 'local'] },
  ...extra,
});

/** Makes APIs and proxies in front of them; `closeAll()` (after each test) closes them. */
export function apiPool(): { api(): Promise<Api>; viaProxy(a: Api): Promise<FaultProxy>; closeAll(): Promise<void> } {
  const servers: TestHttpServer[] = [];
  const proxies: FaultProxy[] = [];
  return {
    /** A loopback API: `GET /rows` (switchable) and `GET /item/:i` (one row per fragment), both tracked. */
    async api() {
      const server = await startHttpServer();
      servers.push(server);
      const tracker = trackRequests();
      const route = switchable(reply.json(apiRows));
      server.route('GET /rows', tracker.wrap(route));
      server.route('GET /item/:i', tracker.wrap((req, res) => route(req, res)));
      return { server, tracker, route, url: server.url };
    },
    async viaProxy(a) {
      const proxy = await startFaultProxy({ host: '127.0.0.1', port: a.server.port });
      proxies.push(proxy);
      return proxy;
    },
    async closeAll() {
      await Promise.all(proxies.splice(0).map((p) => p.close()));
      await Promise.all(servers.splice(0).map((p) => p.close()));
    },
  };
}
