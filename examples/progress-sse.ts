/**
 * A query's progress, pushed: `run.progress$` forwarded to a Node `EventEmitter` (the
 * service's own event bus) and streamed to browsers as server-sent events with `node:http`.
 *
 * `npx tsx examples/progress-sse.ts` starts the server on a free port, reads its own stream
 * once with fetch, prints it and exits. With `--serve` it stays up:
 * `curl -N http://127.0.0.1:<port>/queries/report/progress`, or in a page:
 * `new EventSource('/queries/report/progress').addEventListener('progress', (e) => …)`.
 */
import { EventEmitter, once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createExecutor, memorySource, type Executor, type Plan, type Progress, type Row, type SourceExecutor } from '../src/index.js';

/**
 * `GET /queries/<name>/progress` runs the named plan and answers with a `text/event-stream`:
 * one `progress` event per change (`data` is the Progress as JSON), then one `result` event,
 * then the end of the response. A client that goes away cancels its query. Every progress
 * value is also emitted on `bus` as `('progress', queryId, progress)`.
 */
export function progressServer(executor: Executor, plans: Record<string, Plan>, bus = new EventEmitter()): Server {
  return createServer((req, res) => {
    const name = /^\/queries\/([^/]+)\/progress$/.exec(req.url ?? '')?.[1];
    const plan = name === undefined ? undefined : plans[decodeURIComponent(name)];
    if (req.method !== 'GET' || !plan) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such query\n');
      return;
    }
    const run = executor.run(plan);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (event: string, data: unknown): void => void res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

    const subscription = run.progress$.subscribe((progress) => {
      bus.emit('progress', run.queryId, progress);
      send('progress', progress);
    });
    run.result.then(
      (result) => send('result', { status: result.status, rows: result.rows.length, errors: result.errors.map((e) => e.message) }),
      (error: Error) => send('result', { status: 'cancelled', errors: [error.message] }),
    ).finally(() => res.end());
    // The browser closed the tab: stop listening, and stop the query nobody waits for.
    res.on('close', () => {
      subscription.unsubscribe();
      if (!res.writableFinished) run.cancel('the client went away');
    });
  });
}

/** A source that takes a while, so the progress has steps to show. */
function slow(ms: number, tables: Record<string, Row[]>): SourceExecutor {
  const data = memorySource({ tables });
  return {
    ...data,
    execute: async (query, ctx) => {
      await delay(ms, undefined, { signal: ctx.signal });
      return data.execute(query, ctx) as Promise<Row[]>; // memorySource answers with a promise
    },
  };
}

export const reportPlan: Plan = {
  id: 'report',
  fragments: [
    { id: 'regions', source: 'ref', query: { table: 'regions' } },
    { id: 'customers', source: 'crm', dependsOn: ['regions'], query: { table: 'customers', where: { in: ['region', { $from: 'regions', column: 'code' }] } } },
    { id: 'orders', source: 'crm', dependsOn: ['customers'], query: { table: 'orders', where: { in: ['customer_id', { $from: 'customers', column: 'id' }] } } },
    { id: 'products', source: 'ref', query: { table: 'products' } },
  ],
  merge: { op: 'join', type: 'inner', left: { op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']] }, right: 'products', on: [['product_id', 'id']] },
};

export function demoExecutor(): Executor {
  return createExecutor({
    sources: {
      ref: slow(20, { regions: [{ code: 'EU' }], products: [{ id: 7, product: 'crane' }] }),
      crm: slow(40, { customers: [{ id: 1, region: 'EU' }, { id: 2, region: 'US' }], orders: [{ customer_id: 1, product_id: 7 }] }),
    },
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values: args } = parseArgs({ options: { serve: { type: 'boolean', default: false }, port: { type: 'string', default: '0' } } });
  const executor = demoExecutor();
  const bus = new EventEmitter();
  bus.on('progress', (queryId: string, p: Progress) => console.log(`[bus] ${queryId}: ${p.percent} % — ${p.succeeded}/${p.total} done, ${p.running} running, level ${p.level}`));
  const server = progressServer(executor, { report: reportPlan }, bus);
  server.listen(Number(args.port), '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/queries/report/progress`;
  console.log(`streaming at ${url}`);

  if (!args.serve) {
    // Be our own client once: print the raw event stream as a browser would receive it.
    const response = await fetch(url);
    for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) process.stdout.write(chunk);
    server.close();
    await executor.close();
  } else {
    process.once('SIGINT', () => {
      server.close();
      void executor.close();
    });
  }
}
