import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';

/**
 * The Redis the tests run against: `TRIBUTARY_REDIS_URL`, else this machine's at
 * 127.0.0.1:6379 (`.ci/run` starts it). Tests that need it use `describeRedis`: when it
 * cannot be reached they are skipped with a message, except under CI (`CI=true`), where
 * they fail instead, so a missing Redis never passes unnoticed.
 */
export const REDIS_URL = process.env.TRIBUTARY_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Why Redis cannot be used, or `undefined` when it answers PING within a second. */
export async function redisUnavailableReason(url = REDIS_URL): Promise<string | undefined> {
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  let lastError: string | undefined;
  client.on('error', (error: Error) => {
    lastError = error.message;
  });
  try {
    await client.connect();
    const pong = await client.ping();
    return pong === 'PONG' ? undefined : `PING answered ${pong}`;
  } catch (error) {
    return lastError ?? (error instanceof Error ? error.message : String(error));
  } finally {
    client.disconnect();
  }
}

const unavailable = await redisUnavailableReason();

/** `describe` for tests that need the real Redis (see above). */
export function describeRedis(name: string, body: () => void): void {
  if (unavailable === undefined) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs Redis', () => {
        throw new Error(`Redis at ${REDIS_URL} is unreachable (${unavailable}); CI=true, so the Redis tests fail instead of skipping`);
      });
    });
  } else {
    // Only off CI (under CI=true the branch above fails instead), with the reason printed.
    console.warn(`[skip] ${name}: Redis at ${REDIS_URL} is unreachable (${unavailable}); set TRIBUTARY_REDIS_URL or start redis-server`);
    describe.skipIf(true)(`${name} — skipped: Redis at ${REDIS_URL} is unreachable`, body);
  }
}

/** A namespace no other test (or run) uses. */
export function uniqueNamespace(): string {
  return `test-${randomUUID()}`;
}

/** A plain client for inspecting what the store wrote; disconnect it after. */
export function inspectClient(): Redis {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  return client;
}

/** Deletes every key of a namespace. */
export async function dropNamespace(client: Redis, namespace: string): Promise<void> {
  await dropPrefix(client, `tributary:${namespace}:`);
}

/** Deletes every key that starts with `prefix` (a test's own keys). */
export async function dropPrefix(client: Redis, prefix: string): Promise<void> {
  const keys = await client.keys(`${prefix}*`);
  if (keys.length > 0) await client.del(...keys);
}

/** Deletes the keys under each prefix with a client of its own, closed after. */
export async function dropKeys(...prefixes: string[]): Promise<void> {
  const client = inspectClient();
  try {
    for (const prefix of prefixes) await dropPrefix(client, prefix);
  } finally {
    client.disconnect();
  }
}

/** Removes BullMQ queues (their jobs, running ones too) and every tributary key of each. */
export async function dropQueues(...queues: string[]): Promise<void> {
  for (const queue of queues) {
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    try {
      await q.obliterate({ force: true });
    } finally {
      await q.close();
    }
  }
  // BullMQ may write a queue's `meta` hash again as a Queue made here gets ready, after obliterate.
  await dropKeys(...queues.flatMap((queue) => [`tributary:${queue}:`, `bull:${queue}:`]));
}

/**
 * A TCP server that accepts connections and never answers: a Redis that hangs. close()
 * destroys its sockets.
 */
export async function blackhole(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A TCP proxy to the test Redis that can be frozen: while frozen it swallows what clients
 * send, so a connected client's commands go unanswered (a Redis that stopped answering),
 * without pausing the Redis other tests share.
 */
export async function freezableProxy(target = REDIS_URL): Promise<{ url: string; freeze(): void; thaw(): void; close(): Promise<void> }> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<Socket>();
  let frozen = false;
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  };
  const server = createServer((client) => {
    const upstream = connect(Number(targetPort || 6379), hostname);
    track(client);
    track(upstream);
    client.on('data', (chunk) => {
      if (!frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A redis-server of the test's own on a free loopback port, without persistence
 * (`--save ""`), for tests that kill Redis without touching the one other tests share.
 * `kill()` SIGKILLs it and waits for it to exit.
 */
export async function privateRedis(): Promise<{ url: string; kill(): Promise<void> }> {
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as { port: number };
      probe.close(() => resolve(free));
    });
  });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => undefined);
  const url = `redis://127.0.0.1:${port}`;
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  // Up once it answers PING (bounded: a redis-server that never comes up fails the test).
  for (let i = 0; (await redisUnavailableReason(url)) !== undefined; i++) {
    if (i >= 100 || child.exitCode !== null) {
      await kill();
      throw new Error(`the private redis-server on port ${port} did not answer PING`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, kill };
}
