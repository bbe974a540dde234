import { httpSource, type HttpQuery } from '../../src/sources/index.js';
import { closedPort, reply, startHttpServer, type RecordedRequest, type TestHttpServer } from '../support/http-server.js';
import { runContract, type Call, type PolicyType } from './contract.js';

const PAGE = 100;
let server: TestHttpServer;
let nowhere = 0;
const served = new Map<string, number>();
const open = new Map<string, number>();

// JSON has numbers, booleans, objects and null; a big integer, a decimal, a date or bytes are the API's own strings.
const VALUES: Partial<Record<PolicyType, unknown>> = { integer: 42, double: 1.5, boolean: true, json: { a: [1, 'x'] }, null: null };

const call = (query: HttpQuery): Call<HttpQuery> => ({ query, params: [] });
const param = (req: RecordedRequest, name: string): string => req.url.searchParams.get(name) ?? '';

/** Page `page` (from 1) of the rows 1..count, counted per marker. */
function rowsPage(req: RecordedRequest): unknown[] {
  const marker = param(req, 'marker');
  served.set(marker, (served.get(marker) ?? 0) + 1);
  const count = Number(param(req, 'count'));
  const first = (Number(param(req, 'page')) - 1) * PAGE + 1;
  const rows = [];
  for (let n = first; n <= Math.min(count, first + PAGE - 1); n++) rows.push({ n, s: 'x'.repeat(40) });
  return rows;
}

runContract({
  name: 'http',
  setup: async () => {
    nowhere = await closedPort();
    server = await startHttpServer({
      'GET /value/:type': reply.dynamic((req) => [{ v: VALUES[req.params.type as PolicyType] }]),
      'GET /rows': reply.dynamic(rowsPage),
      'GET /numbers': reply.dynamic((req) => {
        const wanted = new Set(param(req, 'in').split(',').map(Number));
        return Array.from({ length: 100 }, (_, i) => ({ n: i + 1 })).filter((r) => wanted.has(r.n));
      }),
      'GET /echo': reply.dynamic((req) => [{ v: param(req, 'v') }]),
      // Never answers; counts the request open until its socket closes (the client gave up).
      'GET /slow': (req) => {
        const marker = param(req, 'marker');
        open.set(marker, (open.get(marker) ?? 0) + 1);
        void req.socketClosed.then(() => open.set(marker, (open.get(marker) ?? 1) - 1));
      },
      'GET /bad': reply.status(400),
    });
  },
  teardown: async () => server.close(),
  create: (own = {}) => httpSource({ baseUrl: server.url, ...own }),
  child: () => ({ file: 'src/sources/http/connector.ts', factory: 'httpSource', options: { baseUrl: server.url } }),
  value: (type) => (type in VALUES ? call({ path: '/value/{type}', pathParams: { type } }) : undefined),
  rows: (count, marker) => call({ path: '/rows', searchParams: { count, marker }, paginate: { type: 'page', param: 'page', start: 1 } }),
  numbersIn: (list) => call({ path: '/numbers', searchParams: { in: list as number[] }, list: 'comma' }),
  echo: (text) => call({ path: '/echo', searchParams: { v: text } }),
  slow: (marker) => call({ path: '/slow', searchParams: { marker } }),
  openOnServer: (marker) => Promise.resolve(open.get(marker) ?? 0),
  requestsServed: (marker) => served.get(marker) ?? 0,
  invalid: [call({ path: '/missing' }), call({ path: '/bad' })],
  unreachable: () => httpSource({ baseUrl: `http://127.0.0.1:${nowhere}` }),
  streams: true,
  bytes: 'wire',
});
