import { afterAll, afterEach, expect, it, describe } from 'vitest';
import { httpSource } from '../../src/sources/http/connector.js';
import { firstFails, slowFirstByte, stalledBody, storm, truncatedBody } from '../support/fault-http.js';
import { once } from '../support/fault-events.js';
import { apiPlan, apiPool, apiRows, type Api } from '../support/fault-api.js';
import { localSource } from '../support/fault-plans.js';
import { faultExecutor, probeSource, runScenario, unhandledRejections } from '../support/fault-scenario.js';
import { reply } from '../support/http-server.js';

describe('fault suite: HTTP', () => {
  const pool = apiPool();
  const { api, viaProxy } = pool;
  afterEach(() => pool.closeAll());
  afterAll(() => {
    expect(unhandledRejections()).toEqual({ count: 0, reasons: [] });
  });
  const plan = apiPlan;
  const probe = (a: Api) => () => probeSource(httpSource({ baseUrl: a.url }), { path: '/rows' });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('retries a 503 storm without Retry-After until the API answers', async () => {
    const a = await api();
    let before = 0;
    const r = await runScenario({
      name: 'http: 503 storm (2 responses, no Retry-After), then healthy',
      server: 'http',
      executor: faultExecutor({ api: httpSource({ baseUrl: a.url }), local: localSource() }),
      plan: plan('http-503-storm'),
      inject: () => {
        before = a.tracker.arrivals.length;
        a.route.set(firstFails(2, storm(503), reply.json(apiRows)));
      },
      expect: 'recovered',
      statementsRunning: async () => a.tracker.open(),
      probe: probe(a),
      check: () => expect(a.tracker.arrivals.length - before).toBeGreaterThanOrEqual(3),
    });
    expect(r.retries).toBe(2);
  });

  it('honours Retry-After on a 429', async () => {
    const a = await api();
    let first = 0;
    await runScenario({
      name: 'http: 429 with Retry-After: 1 is honoured',
      server: 'http',
      executor: faultExecutor({ api: httpSource({ baseUrl: a.url }), local: localSource() }, { retry: { attempts: 3, initialDelayMs: 10, maxDelayMs: 3000 } }),
      plan: plan('http-429-retry-after'),
      inject: () => {
        first = a.tracker.arrivals.length;
        a.route.set(firstFails(1, storm(429, 1), reply.json(apiRows)));
      },
      expect: 'recovered',
      statementsRunning: async () => a.tracker.open(),
      probe: probe(a),
      check: ({ events }) => {
        const gap = a.tracker.arrivals[first + 1]! - a.tracker.arrivals[first]!;
        expect(gap).toBeGreaterThanOrEqual(950);
        expect(events.find((e) => e.type === 'fragment.retrying')).toMatchObject({ delayMs: 1000 });
      },
    });
  });

  it('caps Retry-After by the deadline: a server asking for 30 s is not waited for', async () => {
    const a = await api();
    let before = 0;
    await runScenario({
      name: 'http: Retry-After: 30 past a 1.5 s deadline fails at once',
      server: 'http',
      executor: faultExecutor({ api: httpSource({ baseUrl: a.url }), local: localSource() }, { retry: { attempts: 5, initialDelayMs: 10, maxDelayMs: 60_000 } }),
      plan: plan('http-retry-after-deadline', { deadlineMs: 1500 }),
      inject: () => {
        before = a.tracker.arrivals.length;
        a.route.set(storm(503, 30));
      },
      heal: () => a.route.set(reply.json(apiRows)),
      expect: 'partial',
      cause: { fragmentId: 'api', code: 'SOURCE_UNAVAILABLE', driverCode: '503' },
      statementsRunning: async () => a.tracker.open(),
      probe: probe(a),
      check: ({ durationMs }) => {
        expect(durationMs).toBeLessThan(1500);
        expect(a.tracker.arrivals.length - before).toBe(3); // the faulty run's one request, the probe's, the rerun's
      },
    });
  });

  it('reports a 503 that never ends as partial after exactly `attempts` requests', async () => {
    const a = await api();
    let before = 0;
    await runScenario({
      name: 'http: 503 forever',
      server: 'http',
      executor: faultExecutor({ api: httpSource({ baseUrl: a.url }), local: localSource() }),
      plan: plan('http-503-forever'),
      inject: () => {
        before = a.tracker.arrivals.length;
        a.route.set(storm(503));
      },
      heal: () => a.route.set(reply.json(apiRows)),
      expect: 'partial',
      cause: { fragmentId: 'api', code: 'SOURCE_UNAVAILABLE', driverCode: '503' },
      statementsRunning: async () => a.tracker.open(),
      probe: probe(a),
      check: () => expect(a.tracker.arrivals.length - before).toBe(3 + 2), // 3 attempts, the probe, the rerun
    });
  });

  it('times out a stalled body and recovers on the retry', async () => {
    const a = await api();
    await runScenario({
      name: 'http: stalled body once, then healthy',
      server: 'http',
      executor: faultExecutor({ api: httpSource({ baseUrl: a.url }), local: localSource() }, { timeoutMs: 400 }),
      plan: plan('http-stall-once'),
      inject: () => a.route.set(firstFails(1, stalledBody(), reply.json(apiRows))),
      expect: 'recovered',
      statementsRunning: async () => a.tracker.open(),
      probe: probe(a),
    });
  });

  it('ends a body that stalls for good at the deadline and closes every request', async () => {
    const a = await api();
    await runScenario({
      name: 'http: stalled body for good, 1.5 s deadline',
      server: 'http',
      executor: faultExecutor({ api: httpSource({ baseUrl: a.url }), local: localSource() }, { timeoutMs: 400 }),
      plan: plan('http-stall-always', { deadlineMs: 1500 }),
      inject: () => a.route.set(stalledBody()),
      heal: () => a.route.set(reply.json(apiRows)),
      expect: 'partial',
      cause: { fragmentId: 'api', code: 'TIMEOUT' },
      statementsRunning: async () => a.tracker.open(),
      probe: probe(a),
    });
  });

  it('names a truncated body as a bad response without retrying it', async () => {
    const a = await api();
    await runScenario({
      name: 'http: body cut short of its Content-Length',
      server: 'http',
      executor: faultExecutor({ api: httpSource({ baseUrl: a.url }), local: localSource() }),
      plan: plan('http-truncated'),
      inject: () => a.route.set(truncatedBody(apiRows)),
      heal: () => a.route.set(reply.json(apiRows)),
      expect: 'partial',
      cause: { fragmentId: 'api', code: 'SOURCE_BAD_RESPONSE' },
      statementsRunning: async () => a.tracker.open(),
      probe: probe(a),
      check: ({ result }) => expect(result?.fragments.api?.attempts).toBe(1),
    });
  });

  it('waits out a slow first byte within the attempt timeout', async () => {
    const a = await api();
    const r = await runScenario({
      name: 'http: slow first byte (250 ms) within the timeout',
      server: 'http',
      executor: faultExecutor({ api: httpSource({ baseUrl: a.url }), local: localSource() }),
      plan: plan('http-slow-first-byte'),
      inject: () => a.route.set(slowFirstByte(250, reply.json(apiRows))),
      heal: () => a.route.set(reply.json(apiRows)),
      expect: 'recovered',
      statementsRunning: async () => a.tracker.open(),
      probe: probe(a),
    });
    expect(r.retries).toBe(0);
  });

  it('retries a first byte slower than the attempt timeout', async () => {
    const a = await api();
    await runScenario({
      name: 'http: first byte past the attempt timeout once, then fast',
      server: 'http',
      executor: faultExecutor({ api: httpSource({ baseUrl: a.url }), local: localSource() }, { timeoutMs: 300 }),
      plan: plan('http-slow-first-byte-timeout'),
      inject: () => a.route.set(firstFails(1, slowFirstByte(1000, reply.json(apiRows)), reply.json(apiRows))),
      expect: 'recovered',
      statementsRunning: async () => a.tracker.open(),
      probe: probe(a),
    });
  });

  it('retries refused connections (through the TCP proxy) and recovers', async () => {
    const a = await api();
    const proxy = await viaProxy(a);
    const url = `http://127.0.0.1:${proxy.port}`;
    await runScenario({
      name: 'http: connections refused, then back',
      server: 'http',
      executor: faultExecutor({ api: httpSource({ baseUrl: url }), local: localSource() }),
      plan: plan('http-refused'),
      inject: async () => {
        await proxy.refuse({ dropExisting: true });
        await sleep(20);
      },
      onEvent: once((e) => e.type === 'fragment.attempt.failed', () => void proxy.heal()),
      heal: () => proxy.heal(),
      expect: 'recovered',
      statementsRunning: async () => a.tracker.open(),
      probe: () => probeSource(httpSource({ baseUrl: url }), { path: '/rows' }),
    });
  });

  it('names a connection reset in the middle of a body', async () => {
    const a = await api();
    const proxy = await viaProxy(a);
    const url = `http://127.0.0.1:${proxy.port}`;
    await runScenario({
      name: 'http: connection reset after 4 KB of the body, once',
      server: 'http',
      executor: faultExecutor({ api: httpSource({ baseUrl: url }), local: localSource() }),
      plan: plan('http-reset-mid-body'),
      inject: () => proxy.resetAfter(4096, { once: true }),
      heal: () => proxy.heal(),
      // httpSource classifies a body that breaks off as SOURCE_BAD_RESPONSE, not retryable.
      expect: ['recovered', 'partial'],
      cause: { fragmentId: 'api', code: ['SOURCE_BAD_RESPONSE', 'SOURCE_UNAVAILABLE'] },
      statementsRunning: async () => a.tracker.open(),
      probe: () => probeSource(httpSource({ baseUrl: url }), { path: '/rows' }),
    });
  });
});
