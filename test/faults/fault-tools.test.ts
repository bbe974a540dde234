import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionEvent } from '../../src/progress/events.js';
import { FragmentError } from '../../src/errors.js';
import { compareRows, retriesOnNonRetryable } from '../support/fault-metrics.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';

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

  it('forwards both ways and adds latency per chunk', async () => {
    proxy = await startFaultProxy({ host: '127.0.0.1', port: await startEcho() });
    const socket = await dial(proxy.port);
    expect(await roundTrip(socket, 'hello')).toBe('hello');
    proxy.latency(60);
    const t0 = performance.now();
    expect(await roundTrip(socket, 'again')).toBe('helloagain'.slice(5));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110); // up and down
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
    proxy = await startFaultProxy({ host: '127.0.0.1', port: await startEcho() });
    proxy.bandwidth(20_000);
    const socket = await dial(proxy.port);
    const t0 = performance.now();
    const text = 'x'.repeat(4000);
    expect(await roundTrip(socket, text)).toBe(text);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(180); // 4 KB at 20 KB/s each way, the two overlapping
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
    const base = { queryId: 'q', at: 0, fragmentId: 'f', source: 's', level: 0 };
    const events: ExecutionEvent[] = [
      { ...base, type: 'fragment.attempt.failed', attempt: 1, retryable: false, error },
      { ...base, type: 'fragment.retrying', attempt: 2, delayMs: 10 },
      { ...base, type: 'fragment.attempt.failed', attempt: 2, retryable: true, error },
      { ...base, type: 'fragment.retrying', attempt: 3, delayMs: 10 },
    ];
    expect(retriesOnNonRetryable(events)).toBe(1);
  });
});
