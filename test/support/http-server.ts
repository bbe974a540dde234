import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { expect } from 'vitest';
import { TributaryError } from '../../src/errors.js';

/**
 * A loopback HTTP server for connector tests: a route table keyed `'GET /users/:id'`,
 * request counts per route, and responders that delay, stall, truncate or fail. close()
 * destroys every socket, so a stalled response never keeps the test process alive.
 */

/** A request as the server saw it. */
export interface RecordedRequest {
  method: string;
  /** The raw (still percent-encoded) path, e.g. `/files/a%2Fb`. */
  rawPath: string;
  url: URL;
  /** `:name` segments of the matched route, percent-decoded. */
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: string;
  /** The route key that matched, or `undefined` for a 404. */
  route: string | undefined;
  /** Settles when the request's socket closes (e.g. the client aborted). */
  socketClosed: Promise<void>;
}

export type RouteHandler = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;

/** A running test server. */
export interface TestHttpServer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Adds or replaces a route, e.g. `route('GET /users/:id', reply.json([...]))`. */
  route(key: string, handler: RouteHandler): void;
  /** Requests that matched `key` so far. */
  hits(key: string): number;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 and an ephemeral port. */
export async function startHttpServer(routes: Record<string, RouteHandler> = {}): Promise<TestHttpServer> {
  const table = new Map(Object.entries(routes));
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  // One promise per socket: keep-alive sockets serve many requests, one listener each would leak.
  const closedOf = new WeakMap<Socket, Promise<void>>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
      const match = findRoute(table, req.method ?? 'GET', rawPath);
      const socket = req.socket;
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        rawPath,
        url,
        params: match?.params ?? {},
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        route: match?.key,
        socketClosed: closedOf.get(socket) ?? Promise.resolve(),
      };
      requests.push(recorded);
      if (match === undefined) return send(res, 404, { error: `no route for ${req.method} ${rawPath}` });
      Promise.resolve(match.handler(recorded, res)).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, { error: String(error) });
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    closedOf.set(socket, new Promise((resolve) => socket.once('close', () => resolve())));
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    route: (key, handler) => void table.set(key, handler),
    hits: (key) => requests.filter((r) => r.route === key).length,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      })),
  };
}

function findRoute(table: Map<string, RouteHandler>, method: string, rawPath: string) {
  const segments = rawPath.split('/');
  for (const [key, handler] of table) {
    const [routeMethod, routePath = ''] = key.split(' ');
    if (routeMethod !== method) continue;
    const pattern = routePath.split('/');
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const ok = pattern.every((part, i) => {
      const segment = segments[i] ?? '';
      if (part.startsWith(':')) {
        params[part.slice(1)] = decodeURIComponent(segment);
        return true;
      }
      return part === segment;
    });
    if (ok) return { key, handler, params };
  }
  return undefined;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** Ready-made handlers. */
export const reply = {
  /** Answers `body` as JSON (a string is sent as is, so malformed JSON is easy to write). */
  json:
    (body: unknown, status = 200, headers: Record<string, string> = {}): RouteHandler =>
    (_req, res) =>
      send(res, status, body, headers),
  /** Answers with whatever `make(req)` returns, as JSON; for pages and echoes. */
  dynamic:
    (make: (req: RecordedRequest) => unknown, headers?: (req: RecordedRequest) => Record<string, string>): RouteHandler =>
    (req, res) =>
      send(res, 200, make(req), headers?.(req)),
  /** Answers `status` with a small JSON error body and the given headers (Retry-After, ...). */
  status:
    (status: number, headers: Record<string, string> = {}): RouteHandler =>
    (_req, res) =>
      send(res, status, { error: `status ${status}` }, headers),
  /** Runs `handler` after `ms`. */
  delay:
    (ms: number, handler: RouteHandler): RouteHandler =>
    (req, res) =>
      new Promise<void>((resolve) => setTimeout(resolve, ms)).then(() => handler(req, res)),
  /** Never answers; with `prefix`, sends headers and the prefix of a body, then nothing more. */
  stall:
    (prefix?: string): RouteHandler =>
    (_req, res) => {
      if (prefix === undefined) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(prefix);
    },
  /** Declares `declaredLength` bytes, sends `body` (shorter), then ends the connection. */
  truncated:
    (body: string, declaredLength: number): RouteHandler =>
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(declaredLength) });
      res.write(body, () => res.socket?.end());
    },
  /** Sends a valid JSON array of `rows` rows (~110 bytes each), chunk by chunk, without Content-Length. */
  large:
    (rows: number): RouteHandler =>
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
      for (let i = 0; i < rows; i++) res.write(`${i === 0 ? '' : ','}{"i":${i},"pad":"${'x'.repeat(100)}"}`);
      res.end(']');
    },
};

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Fails the test instead of hanging when `promise` does not settle within `ms`. */
export async function within<T>(ms: number, promise: Promise<T> | undefined): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The TributaryError `promise` rejects with; fails the test if it resolves or rejects otherwise. */
export async function failure(promise: Promise<unknown>): Promise<TributaryError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TributaryError);
  return error as TributaryError;
}
