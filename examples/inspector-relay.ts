/**
 * A small loopback relay between `@statelyai/inspect`'s WebSocket inspector (in the app)
 * and the Stately inspector (in a browser), bound to 127.0.0.1 only.
 *
 * - `ws://127.0.0.1:<port>`: every message a client sends is kept (the last `replay`) and
 *   passed on to every other client; a client that connects later gets the kept ones first,
 *   so a browser opened after the queries ran still sees them. Only the app (no Origin) and
 *   the relay's own page may connect, addressed as 127.0.0.1 or localhost: other sites'
 *   pages in the same browser cannot read or inject events.
 * - `http://127.0.0.1:<port>/`: a page that embeds the Stately inspector in an iframe and
 *   posts the relayed events into it once the inspector says it is ready — the same bridge
 *   `@statelyai/inspect/server` serves, without listening on every interface. The hosted
 *   inspector needs the internet: when it has not said it is ready within `fallbackAfterMs`
 *   (offline, or blocked), the page shows `fallbackUrl` instead — tributary's own live view,
 *   served from this machine — rather than an empty frame.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export interface InspectorRelayOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The inspector UI the page embeds. */
  inspectorUrl?: string;
  /** How many messages a late client is sent first. */
  replay?: number;
  /** What the page shows when the hosted inspector does not load (e.g. `createLiveView`'s url). */
  fallbackUrl?: string | (() => string | undefined);
  /** How long the page waits for the inspector before showing `fallbackUrl` (default 5000 ms). */
  fallbackAfterMs?: number;
}

export interface InspectorRelay {
  /** Where `createWebSocketInspector({ url })` connects. */
  readonly wsUrl: string;
  /** The page to open in a browser. */
  readonly pageUrl: string;
  /** Resolves when the first client (the app's inspector) has connected. */
  readonly firstConnection: Promise<void>;
  /** The kept messages, oldest first, as received (JSON text). */
  messages(): readonly string[];
  /** Closes every connection, then the server; idempotent. */
  close(): Promise<void>;
}

export async function startInspectorRelay(options: InspectorRelayOptions = {}): Promise<InspectorRelay> {
  const inspectorUrl = options.inspectorUrl ?? 'https://stately.ai/inspect';
  const replay = options.replay ?? 5000;
  const kept: string[] = [];
  let wsUrl = '';

  // Only this machine's own names, as the browser addresses the relay: a page of another
  // site that rebinds its DNS name to 127.0.0.1 sends its own Host, and is refused.
  let port = 0;
  const ownHost = (host: string | undefined): boolean => host === `127.0.0.1:${port}` || host === `localhost:${port}`;
  const http = createServer((req, res) => {
    if (!ownHost(req.headers.host)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden host\n');
      return;
    }
    if (req.url !== '/') {
      res.writeHead(404).end();
      return;
    }
    const fallback = typeof options.fallbackUrl === 'function' ? options.fallbackUrl() : options.fallbackUrl;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(bridgePage(wsUrl, inspectorUrl, fallback, options.fallbackAfterMs ?? 5000));
  });
  // A WebSocket is not bound by CORS: any page the developer has open could connect to a
  // loopback port and read (or inject) the inspection events. Clients are the app (a Node
  // client sends no Origin) and the relay's own page (its origin is the relay's).
  const wss = new WebSocketServer({
    server: http,
    verifyClient: ({ origin, req }: { origin: string | undefined; req: { headers: { host?: string } } }) =>
      ownHost(req.headers.host) && (origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`),
  });
  let connected!: () => void;
  const firstConnection = new Promise<void>((resolve) => (connected = resolve));

  wss.on('connection', (socket) => {
    connected();
    for (const message of kept) socket.send(message);
    socket.on('message', (data) => {
      const message = String(data);
      kept.push(message);
      if (kept.length > replay) kept.shift();
      for (const client of wss.clients) if (client !== socket && client.readyState === WebSocket.OPEN) client.send(message);
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (http.address() as AddressInfo).port;
  wsUrl = `ws://127.0.0.1:${port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      // A graceful close: the server reads what a client sent before its close frame.
      await Promise.all(
        [...wss.clients].map(
          (client) =>
            new Promise<void>((resolve) => {
              if (client.readyState === WebSocket.CLOSED) return resolve();
              client.once('close', () => resolve());
              client.close(1001, 'relay closing');
            }),
        ),
      );
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    })());

  return { wsUrl, pageUrl: `http://127.0.0.1:${port}/`, firstConnection, messages: () => kept, close };
}

/** The bridge page: relay (WebSocket) → the embedded inspector (postMessage), or the fallback page. */
function bridgePage(wsUrl: string, inspectorUrl: string, fallbackUrl: string | undefined, fallbackAfterMs: number): string {
  return `<!doctype html>
<html>
<head>
  <meta charset="utf-8">
  <title>tributary · Stately inspector</title>
  <style>html, body, iframe { margin: 0; width: 100%; height: 100%; border: 0; }
    #offline { display: none; margin: 0; padding: 6px 12px; font: 14px system-ui, sans-serif; background: #fef3c7; }
    body.offline { display: flex; flex-direction: column; } body.offline #offline { display: block; } body.offline iframe { flex: 1; height: auto; }</style>
</head>
<body>
  <p id="offline">The Stately inspector (${inspectorUrl}) did not load — offline? Showing tributary's own live view, served from this machine.</p>
  <iframe id="inspector" src="${inspectorUrl}"></iframe>
  <script>
    const frame = document.getElementById('inspector');
    const pending = [];
    let ready = false;
    const fallbackUrl = ${JSON.stringify(fallbackUrl ?? null)};
    // The hosted inspector announces itself once loaded; without the internet it never does.
    const showFallback = () => {
      if (ready || !fallbackUrl) return;
      document.body.classList.add('offline');
      frame.src = fallbackUrl;
    };
    if (!navigator.onLine) showFallback();
    else setTimeout(showFallback, ${fallbackAfterMs});
    // The inspector announces itself; until then, keep what the relay sends.
    window.addEventListener('message', (e) => {
      if (e.data && e.data.type === '@statelyai.connected') {
        ready = true;
        for (const event of pending.splice(0)) frame.contentWindow.postMessage(event, '*');
      }
    });
    const socket = new WebSocket(${JSON.stringify(wsUrl)});
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (ready) frame.contentWindow.postMessage(event, '*');
      else pending.push(event);
    };
  </script>
</body>
</html>
`;
}
