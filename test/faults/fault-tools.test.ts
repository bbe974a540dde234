import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionEvent } from '../../src/progress/events.js';
import { FragmentError } from '../../src/errors.js';
import { compareRows, retriesOnNonRetryable } from '../support/fault-metrics.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { createVirtualClock, type VirtualClock } from '../../src/execution/clock.js';

/** The fault suite's own tools, checked against a loopback echo server. */

describe('startFaultProxy', () => {
  let echo: Server;
  let proxy: FaultProxy;
  const clients: Socket[] = [];

  const startEcho = async (): Promise<number> => {
    echo = createServer((socket) => {
      socket.on('error', () => undefined); // the proxy resets it on purpose
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    return (echo.address() as AddressInfo).port;
  };
  const dial = (port: number): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.on('error', () => undefined); // a reset is what some tests are after
        resolve(socket);
      });
      socket.once('error', reject);
      clients.push(socket);
    });
  /** Sends `text` and resolves with what came back once `bytes` arrived, or with the error. */
  const roundTrip = (socket: Socket, text: string, bytes = text.length): Promise<string | Error> =>
    new Promise((resolve) => {
      let got = '';
      socket.on('data', (chunk: Buffer) => {
        got += chunk.toString();
        if (got.length >= bytes) resolve(got);
      });
      socket.once('error', resolve);
      socket.write(text);
    });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await proxy.close();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });

  /**
   * Moves the proxy's virtual clock in `stepMs` steps until `pending` settles, letting the
   * loopback sockets deliver between steps (event-loop turns, no real time waited). Resolves
   * with the settled value and the virtual milliseconds it took.
   */
  const onVirtualTime = async <T>(clock: VirtualClock, pending: Promise<T>, stepMs: number): Promise<{ value: T; elapsedMs: number }> => {
    let settled: { value: T } | undefined;
    void pending.then((value) => (settled = { value }));
    const t0 = clock.now();
    for (let step = 0; step < 10_000 && !settled; step++) {
      for (let turn = 0; turn < 50 && !settled; turn++) await new Promise((resolve) => setImmediate(resolve));
      if (!settled) await clock.advanceAsync(stepMs);
    }
    if (!settled) throw new Error('never settled');
    return { value: settled.value, elapsedMs: clock.now() - t0 };
  };

  it('forwards both ways and adds latency per chunk', async () => {
    const clock = createVirtualClock();
    proxy = await startFaultProxy({ host: '127.0.0.1', port: await startEcho() }, clock);
    const socket = await dial(proxy.port);
    expect(await roundTrip(socket, 'hello')).toBe('hello');
    proxy.latency(60);
    const { value, elapsedMs } = await onVirtualTime(clock, roundTrip(socket, 'again'), 5);
    expect(value).toBe('helloagain'.slice(5));
    // 60 ms up, then 60 ms down, on the proxy's clock.
    expect(elapsedMs).toBeGreaterThanOrEqual(120);
    expect(elapsedMs).toBeLessThan(150);
  });

  it('resets a connection after N bytes, once', async () => {
    proxy = await startFaultProxy({ host: '127.0.0.1', port: await startEcho() });
    const socket = await dial(proxy.port);
    proxy.resetAfter(4, { once: true });
    const outcome = await roundTrip(socket, 'abcdefgh', 9);
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(proxy.stats().resets).toBe(1);
    expect(await roundTrip(await dial(proxy.port), 'ok')).toBe('ok'); // `once`: the next one passes
  });

  it('refuses connections, then listens again on the same port', async () => {
    proxy = await startFaultProxy({ host: '127.0.0.1', port: await startEcho() });
    const port = proxy.port;
    await proxy.refuse({ dropExisting: true });
    await expect(dial(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await proxy.heal();
    expect(proxy.port).toBe(port);
    expect(await roundTrip(await dial(port), 'back')).toBe('back');
  });

  it('blackholes: accepts and never answers, and heal() resets what it swallowed', async () => {
    proxy = await startFaultProxy({ host: '127.0.0.1', port: await startEcho() });
    proxy.blackhole('all');
    const socket = await dial(proxy.port);
    const answer = roundTrip(socket, 'anyone?');
    const silent = await Promise.race([answer, new Promise((resolve) => setTimeout(() => resolve('silence'), 150))]);
    expect(silent).toBe('silence');
    await proxy.heal();
    expect(await answer).toBeInstanceOf(Error);
  });

  it('limits bandwidth', async () => {
    const clock = createVirtualClock();
    proxy = await startFaultProxy({ host: '127.0.0.1', port: await startEcho() }, clock);
    proxy.bandwidth(20_000);
    const socket = await dial(proxy.port);
    const text = 'x'.repeat(4000);
    const { value, elapsedMs } = await onVirtualTime(clock, roundTrip(socket, text), 5);
    expect(value).toBe(text);
    // 4 KB at 20 KB/s is 200 ms each way; the echo overlaps the two directions, so at least
    // 200 ms and at most their sum.
    expect(elapsedMs).toBeGreaterThanOrEqual(200);
    expect(elapsedMs).toBeLessThanOrEqual(420);
  });

  it('closes every socket on close()', async () => {
    proxy = await startFaultProxy({ host: '127.0.0.1', port: await startEcho() });
    const socket = await dial(proxy.port);
    await roundTrip(socket, 'x');
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await proxy.close();
    await closed;
    expect(proxy.stats().open).toBe(0);
  });
});

describe('fault metrics', () => {
  it('counts rows lost and duplicated as multisets, ignoring null-filled columns', () => {
    const base = [{ id: 1, v: null }, { id: 2 }, { id: 2 }];
    expect(compareRows(base, [{ id: 2 }, { id: 1 }, { id: 2 }])).toEqual({ lost: 0, duplicated: 0 });
    expect(compareRows(base, [{ id: 1 }, { id: 2 }, { id: 2 }, { id: 2 }])).toEqual({ lost: 0, duplicated: 1 });
    expect(compareRows(base, [{ id: 1 }])).toEqual({ lost: 2, duplicated: 0 });
  });

  it('counts a retry that follows a non-retryable attempt failure', () => {
    const error = new FragmentError('FRAGMENT_FAILED', 'no', { fragmentId: 'f', source: 's', attempt: 1 });
    const base = { queryId: 'q', runId: 'run-1', at: 0, fragmentId: 'f', source: 's', level: 0 };
    const events: ExecutionEvent[] = [
      { ...base, type: 'fragment.attempt.failed', attempt: 1, batch: { index: 0, count: 1 }, retryable: false, error },
      { ...base, type: 'fragment.retrying', attempt: 2, batch: { index: 0, count: 1 }, delayMs: 10 },
      { ...base, type: 'fragment.attempt.failed', attempt: 2, batch: { index: 0, count: 1 }, retryable: true, error },
      { ...base, type: 'fragment.retrying', attempt: 3, batch: { index: 0, count: 1 }, delayMs: 10 },
    ];
    expect(retriesOnNonRetryable(events)).toBe(1);
  });
});
