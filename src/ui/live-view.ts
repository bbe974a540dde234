import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RemoteOption } from '../explain/index.js';
import { livePage } from './page.js';
import { DEFAULT_LIMITS, LiveStore, type LiveMessage } from './store.js';
import type { QueryRun, ViewedExecutor } from './types.js';

export interface LiveViewOptions {
  /** The port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** How often the source lanes are sampled from `executor.metrics()`, in ms (default 200). */
  lanesIntervalMs?: number;
  /**
   * Plans with more fragments are listed by level instead of drawn (default 150): laying a
   * plan out takes about a second per 200 fragments, on the thread that runs the queries.
   */
  maxDrawnFragments?: number;
  /**
   * Applied to every error text the page shows (its event log, a failed query's error), e.g. to
   * mask credentials a source echoes back in its errors; the CLI passes its sources file's
   * secrets. Default: texts are shown as they are.
   */
  redact?: (text: string) => string;
  /**
   * The executor's `remote` option (only its `sources` is read), as EXPLAIN takes it: the
   * fragments of the sources it sends to BullMQ workers read `shop (remote)` on the page.
   * Without it, a fragment is marked once a worker reports running one of its calls.
   */
  remote?: RemoteOption;
}

/** A page on 127.0.0.1 showing an executor's queries as they run. */
export interface LiveView {
  /** `http://127.0.0.1:<port>/`: open it in a browser. */
  readonly url: string;
  readonly port: number;
  /**
   * Draws a run's plan as a DAG (every fragment pending until its events arrive), shows its
   * progress, and its EXPLAIN ANALYZE timeline and critical path when it ends. Call it right
   * after `executor.run()`. Queries not watched still appear, from their events.
   */
  watch(run: QueryRun, plan: unknown): QueryRun;
  /** Ends every open page's stream and stops the server; idempotent. */
  close(): Promise<void>;
}

/**
 * Serves a live view of an executor on 127.0.0.1 only: each query's DAG with its
 * fragments coloured by state (pending, queued, running, retrying, succeeded, cached,
 * failed, skipped), its progress, the source lanes (running / queued / limit), the events
 * as a log, and the EXPLAIN ANALYZE timeline when a watched query ends. The page is one
 * self-contained document (inline style and script, no request leaves the machine);
 * updates arrive as server-sent events from `/events`. Requests whose Host is not this
 * loopback address are refused, so another site cannot read the page through DNS rebinding,
 * and so are requests from another site's page (an `Origin` other than this page's).
 *
 * @example
 * const view = await createLiveView(executor, { port: 8080 });
 * console.log(`open ${view.url}`);
 * const run = view.watch(executor.run(plan), plan);
 */
export async function createLiveView(executor: ViewedExecutor, options: LiveViewOptions = {}): Promise<LiveView> {
  const store = new LiveStore({ ...DEFAULT_LIMITS, ...(options.maxDrawnFragments === undefined ? {} : { drawnFragments: options.maxDrawnFragments }) }, options.redact, options.remote);
  const streams = new Set<ServerResponse>();
  let port = 0;

  const server = createServer((req, res) => {
    if (!allowedHost(req, port)) return void res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden host\n');
    if (!allowedOrigin(req, port)) return void res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden origin\n');
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (req.method !== 'GET') return void res.writeHead(405, { allow: 'GET' }).end();
    if (path === '/') return void page(res);
    if (path === '/events') return void stream(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });

  const page = (res: ServerResponse): void => {
    const nonce = randomBytes(16).toString('base64');
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // The page may talk to this server and nothing else.
      'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'`,
      'x-content-type-options': 'nosniff',
    });
    res.end(livePage(nonce));
  };

  const stream = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 1000\n\n');
    const send = (message: LiveMessage): void => void res.write(`event: ${message.type}\ndata: ${JSON.stringify(message)}\n\n`);
    send(store.snapshot());
    const unsubscribe = store.subscribe(send);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000).unref();
    streams.add(res);
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
    });
  };

  const events = executor.events$.subscribe({ next: (event) => store.onEvent(event), error: () => undefined });
  const sample = (): void => {
    try {
      store.setLanes(executor.metrics().lanes);
    } catch {
      // a closed executor: keep the last figures
    }
  };
  sample();
  const sampler = setInterval(sample, options.lanesIntervalMs ?? 200).unref();

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    // A port in use (or not ours to open): nothing of the view stays behind on the executor.
    events.unsubscribe();
    clearInterval(sampler);
    throw error;
  }
  port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    watch: (run, plan) => {
      store.watch(run, plan);
      return run;
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        events.unsubscribe();
        clearInterval(sampler);
        for (const res of streams) res.end();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

/** Only this loopback address may be asked for (see DNS rebinding). */
function allowedHost(req: IncomingMessage, port: number): boolean {
  const host = req.headers.host;
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/**
 * A request a page made says where the page came from: only this page itself (or no page: a
 * browser's address bar, curl) may ask. Another site's page opening `/events` would otherwise
 * stream every query, error text and event to it as far as the browser lets it read.
 */
function allowedOrigin(req: IncomingMessage, port: number): boolean {
  const origin = req.headers.origin;
  return origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}
