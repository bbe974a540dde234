import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { systemClock, type Clock, type TimerHandle } from '../../src/execution/clock.js';

/**
 * A TCP proxy on 127.0.0.1 for fault tests, between a driver and a real PostgreSQL or
 * MariaDB on loopback. Point a source at `proxy.port` and switch faults on and off while
 * the driver talks through it: added latency per chunk, a connection reset after N bytes,
 * a blackhole that accepts and never answers, refused connections, a bandwidth limit.
 * close() destroys every socket and timer it made, so a fault never outlives its test.
 *
 * @example
 * const proxy = await startFaultProxy({ host: '127.0.0.1', port: 5432 });
 * const shop = postgresSource({ host: '127.0.0.1', port: proxy.port, user: 'postgres', database: 'test' });
 * proxy.resetAfter(500, { once: true }); // the next result is cut after 500 bytes, once
 */

/** Which way bytes flow: `up` driver → server, `down` server → driver. */
export type Direction = 'up' | 'down';

/** The faults the proxy can inject; several may be on at once. */
export interface FaultState {
  /** Milliseconds added before each chunk is forwarded. */
  latencyMs: number;
  /** Bytes per second each direction of each connection may carry. */
  bytesPerSecond: number | undefined;
  /** Reset a connection once it has carried this many bytes (since the fault was armed). */
  reset: { afterBytes: number; direction: Direction | 'both'; once: boolean } | undefined;
  /** Accept, read and drop everything; answer nothing. `new`: only connections made from now on. */
  blackhole: 'all' | 'new' | undefined;
  /** Refuse new connections (the listener is closed); `dropExisting` also resets the open ones. */
  refusing: boolean;
}

/** What the proxy has done, for assertions. */
export interface ProxyStats {
  accepted: number;
  open: number;
  resets: number;
  bytesUp: number;
  bytesDown: number;
}

export interface FaultProxy {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Adds `ms` before each forwarded chunk (0 turns it off). */
  latency(ms: number): void;
  /** Limits each direction of each connection to `bytesPerSecond` (undefined turns it off). */
  bandwidth(bytesPerSecond: number | undefined): void;
  /**
   * Resets (TCP RST) a connection after it has carried `afterBytes` bytes in `direction`
   * (default `down`, so a result is cut mid-stream), counted from now. `once`: only the
   * first connection to reach the count is reset, then the fault switches itself off.
   */
  resetAfter(afterBytes: number, options?: { direction?: Direction | 'both'; once?: boolean }): void;
  /** Accepts connections but never answers; `new` leaves already open connections alone. */
  blackhole(scope?: 'all' | 'new'): void;
  /** Refuses new connections (ECONNREFUSED); `dropExisting` resets the open ones too. */
  refuse(options?: { dropExisting?: boolean }): Promise<void>;
  /** Resets every open connection now. */
  resetAll(): void;
  /** Switches every fault off; blackholed connections (whose bytes were lost) are reset. */
  heal(): Promise<void>;
  state(): Readonly<FaultState>;
  stats(): ProxyStats;
  /** Closes the listener, every socket and timer; idempotent. */
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket | undefined;
  /** Bytes carried per direction since the reset fault was armed. */
  counted: { up: number; down: number };
  resetEpoch: number;
  /** Some of its bytes were swallowed: the protocol stream is broken for good. */
  broken: boolean;
  blackholed: boolean;
  closed: boolean;
}

const healthy = (): FaultState => ({ latencyMs: 0, bytesPerSecond: undefined, reset: undefined, blackhole: undefined, refusing: false });

/**
 * Starts a proxy on 127.0.0.1 and an ephemeral port, forwarding to `target`. Its latency and
 * bandwidth waits run on `clock` (the system's by default; a virtual one in the proxy's own tests).
 */
export async function startFaultProxy(target: { host: string; port: number }, clock: Clock = systemClock): Promise<FaultProxy> {
  const links = new Set<Link>();
  const timers = new Set<TimerHandle>();
  const stats: ProxyStats = { accepted: 0, open: 0, resets: 0, bytesUp: 0, bytesDown: 0 };
  let faults = healthy();
  let resetEpoch = 0;
  let closing: Promise<void> | undefined;
  let server: Server;
  let port = 0;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = clock.setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const kill = (link: Link): void => {
    if (link.closed) return;
    link.closed = true;
    links.delete(link);
    stats.open = links.size;
    // An RST, not a FIN: the driver sees ECONNRESET, as when a server or a middlebox dies.
    if (!link.client.destroyed) link.client.resetAndDestroy();
    if (link.upstream && !link.upstream.destroyed) link.upstream.resetAndDestroy();
  };

  const end = (link: Link): void => {
    if (link.closed) return;
    link.closed = true;
    links.delete(link);
    stats.open = links.size;
    link.client.destroy();
    link.upstream?.destroy();
  };

  /** Forwards one chunk under the faults in force; resolves when the next chunk may go. */
  const forward = async (link: Link, direction: Direction, chunk: Buffer, to: Socket): Promise<void> => {
    if (faults.blackhole === 'all' || link.blackholed) {
      link.broken = true;
      return;
    }
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    let rest = chunk;
    const reset = faults.reset;
    if (reset && link.resetEpoch !== resetEpoch) {
      link.resetEpoch = resetEpoch;
      link.counted = { up: 0, down: 0 };
    }
    if (reset && (reset.direction === 'both' || reset.direction === direction)) {
      const carried = reset.direction === 'both' ? link.counted.up + link.counted.down : link.counted[direction];
      const room = reset.afterBytes - carried;
      if (rest.length > room) {
        // Deliver the bytes up to the limit, then cut: the driver holds a partial message.
        const head = rest.subarray(0, Math.max(0, room));
        if (head.length > 0 && !to.destroyed) to.write(head);
        if (reset.once) faults = { ...faults, reset: undefined };
        stats.resets++;
        // Give the head a moment to leave before the RST discards the send queue.
        await sleep(5);
        kill(link);
        return;
      }
    }
    while (rest.length > 0 && !link.closed) {
      const rate = faults.bytesPerSecond;
      const slice = rate === undefined ? rest : rest.subarray(0, Math.max(1, Math.floor(rate / 20)));
      rest = rest.subarray(slice.length);
      link.counted[direction] += slice.length;
      if (direction === 'up') stats.bytesUp += slice.length;
      else stats.bytesDown += slice.length;
      // Wait first, then deliver: a slice arrives no earlier than the rate allows.
      if (rate !== undefined) await sleep((slice.length / rate) * 1000);
      if (link.closed) return;
      if (!to.destroyed) to.write(slice);
    }
  };

  /** Pumps `from` to `to` one chunk at a time, so latency and bandwidth keep the order. */
  const pump = (link: Link, direction: Direction, from: Socket, to: () => Socket | undefined): void => {
    const queue: Buffer[] = [];
    let busy = false;
    const drain = async (): Promise<void> => {
      busy = true;
      while (queue.length > 0 && !link.closed) {
        const target = to();
        const chunk = queue.shift()!;
        if (target === undefined) {
          // Blackholed from the start: no upstream, the bytes go nowhere.
          link.broken = true;
          continue;
        }
        await forward(link, direction, chunk, target);
      }
      busy = false;
      if (!link.closed) from.resume();
    };
    from.on('data', (chunk: Buffer) => {
      queue.push(chunk);
      if (busy) return;
      from.pause();
      void drain();
    });
  };

  const onConnection = (client: Socket): void => {
    stats.accepted++;
    const link: Link = {
      client,
      upstream: undefined,
      counted: { up: 0, down: 0 },
      resetEpoch,
      broken: false,
      blackholed: faults.blackhole !== undefined,
      closed: false,
    };
    links.add(link);
    stats.open = links.size;
    client.on('error', () => kill(link));
    client.on('close', () => end(link));
    if (link.blackholed) {
      // Accept and read, never connect upstream: the driver waits for a greeting that never comes.
      pump(link, 'up', client, () => undefined);
      return;
    }
    const upstream = connect({ host: target.host, port: target.port });
    link.upstream = upstream;
    client.pause();
    upstream.on('connect', () => client.resume());
    upstream.on('error', () => kill(link));
    upstream.on('close', () => end(link));
    pump(link, 'up', client, () => link.upstream);
    pump(link, 'down', upstream, () => client);
  };

  const listen = (at: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      server = createServer(onConnection);
      server.once('error', reject);
      server.listen(at, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  // close() stops listening at once but calls back only when every accepted socket is gone;
  // `stopAccepting` does not wait for that, so open links can outlive a "refusing" server.
  const stopAccepting = (): void => {
    if (server.listening) server.close();
  };
  const unlisten = (): Promise<void> => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));

  await listen(0);

  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    latency(ms) {
      faults = { ...faults, latencyMs: ms };
    },
    bandwidth(bytesPerSecond) {
      faults = { ...faults, bytesPerSecond };
    },
    resetAfter(afterBytes, options = {}) {
      resetEpoch++;
      faults = { ...faults, reset: { afterBytes, direction: options.direction ?? 'down', once: options.once ?? false } };
    },
    blackhole(scope = 'all') {
      faults = { ...faults, blackhole: scope };
    },
    async refuse(options = {}) {
      if (!faults.refusing) {
        faults = { ...faults, refusing: true };
        stopAccepting();
        // Let the listening socket go before the caller's next connect.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (options.dropExisting) for (const link of [...links]) kill(link);
    },
    resetAll() {
      for (const link of [...links]) kill(link);
    },
    async heal() {
      const wasRefusing = faults.refusing;
      faults = healthy();
      for (const link of [...links]) if (link.broken || link.blackholed) kill(link);
      // The same port again, so pools configured with it reconnect by themselves.
      if (wasRefusing && closing === undefined) await listen(port);
    },
    state: () => faults,
    stats: () => ({ ...stats, open: links.size }),
    close() {
      closing ??= (async () => {
        for (const timer of timers) clock.clearTimeout(timer);
        timers.clear();
        for (const link of [...links]) end(link);
        await unlisten();
      })();
      return closing;
    },
  };
}
