import { afterAll, afterEach, expect, it, describe } from 'vitest';
import type { Plan } from '../../src/plan/index.js';
import type { ExecutionEvent } from '../../src/progress/events.js';
import { httpSource } from '../../src/sources/http/connector.js';
import type { Row } from '../../src/data/row.js';
import { firstFails, slowFirstByte, stalledBody, storm, switchable, trackRequests, truncatedBody, type RequestTracker, type Switchable } from '../support/fault-http.js';
import { localSource, unionPlan } from '../support/fault-plans.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { faultExecutor, probeSource, runScenario, unhandledRejections } from '../support/fault-scenario.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

const apiRows: Row[] = Array.from({ length: 400 }, (_, i) => ({ id: i + 1, name: `row ${i + 1} ${'y'.repeat(80)}`, frag: 'api' }));

interface Api {
  server: TestHttpServer;
  tracker: RequestTracker;
  route: Switchable;
  url: string;
}

describe('fault suite: HTTP', () => {
  const servers: TestHttpServer[] = [];
  const proxies: FaultProxy[] = [];

  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(() => {
    expect(unhandledRejections()).toEqual({ count: 0, reasons: [] });
  });

  /** A loopback API: `GET /rows` (switchable) and `GET /item/:i` (one row per fragment), both tracked. */
  const api = async (): Promise<Api> => {
    const server = await startHttpServer();
    servers.push(server);
    const tracker = trackRequests();
    const route = switchable(reply.json(apiRows));
    server.route('GET /rows', tracker.wrap(route));
    server.route('GET /item/:i', tracker.wrap((req, res) => route(req, res)));
    return { server, tracker, route, url: server.url };
  };
  /** One-row answers for `/item/:i`, tagged with the fragment id. */
  const itemRows = reply.dynamic((req) => [{ id: Number(req.params.i), frag: `api_${req.params.i}` }]);
  const viaProxy = async (a: Api): Promise<FaultProxy> => {
    const proxy = await startFaultProxy({ host: '127.0.0.1', port: a.server.port });
    proxies.push(proxy);
    return proxy;
  };
  const plan = (id: string, extra: Partial<Plan> = {}) => unionPlan(id, { id: 'api', source: 'api', query: { path: '/rows' } }, { deadlineMs: 5000, ...extra });
  /** `n` one-row fragments on the API plus the local one, all merged. */
  const manyPlan = (id: string, n: number, extra: Partial<Plan> = {}): Plan => ({
    id,
    errorPolicy: 'partial',
    fragments: [
      ...Array.from({ length: n }, (_, i) => ({ id: `api_${i}`, source: 'api', query: { path: `/item/${i}` } })),
      { id: 'local', source: 'local', query: { table: 'ref' } },
    ],
    merge: { op: 'union', inputs: [...Array.from({ length: n }, (_, i) => `api_${i}`), 'local'] },
    ...extra,
  });
  const once = (test: (e: ExecutionEvent) => boolean, act: () => void) => {
    let done = false;
    return (e: ExecutionEvent) => {
      if (!done && test(e)) {
        done = true;
        act();
      }
    };
  };
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

  // 1,000 fragments as ten plans of 100 on one executor: the budget is per source, shared by
  // every plan, and a plan of 1,000 fragments runs into the query machine's cost per
  // fragment, which grows with the plan (see the report).
  it('gives a source that always answers 503 no more than its retry budget over 1,000 fragments', async () => {
    const a = await api();
    a.route.set(itemRows);
    const budget = { capacity: 50, retryCost: 5, timeoutRetryCost: 10, successReward: 1 };
    const share = budget.capacity / budget.retryCost;
    const plans = 10;
    const perPlan = 100;
    const executor = faultExecutor({ api: httpSource({ baseUrl: a.url }), local: localSource() }, { retryBudget: budget, circuitBreaker: false, timeoutMs: 5000 });
    const seen: ExecutionEvent[] = [];
    const subscription = executor.events$.subscribe((e) => seen.push(e));
    let before = 0;
    let faultyEvents = 0;
    try {
      await runScenario({
        name: 'http: 1,000 fragments against a 503-only source spend at most the retry budget',
        server: 'http',
        executor,
        plan: manyPlan('http-retry-budget', perPlan),
        inject: async () => {
          before = a.tracker.arrivals.length;
          faultyEvents = seen.length;
          a.route.set(storm(503));
          // The first nine hundred; the scenario's own run is the last hundred.
          for (let i = 0; i < plans - 1; i++) expect((await executor.execute(manyPlan(`http-retry-budget-${i}`, perPlan))).status).toBe('partial');
        },
        heal: () => a.route.set(itemRows),
        expect: 'partial',
        cause: { fragmentId: `api_${perPlan - 1}`, code: ['SOURCE_UNAVAILABLE', 'RETRY_BUDGET_EXHAUSTED'] },
        statementsRunning: async () => a.tracker.open(),
        check: ({ events }) => {
          // The nine plans run in inject, then the scenario's own faulty run (not the rerun).
          const during = [...seen.slice(faultyEvents).filter((e) => /^http-retry-budget-\d+$/.test(e.queryId)), ...events];
          const requests = a.tracker.arrivals.length - before - perPlan; // the rerun's hundred are healthy
          const retries = during.filter((e) => e.type === 'fragment.retrying').length;
          const exhausted = during.filter((e) => e.type === 'fragment.failed' && e.error.code === 'RETRY_BUDGET_EXHAUSTED').length;
          const failed = during.filter((e) => e.type === 'fragment.failed').length;
          expect(failed).toBeGreaterThanOrEqual(plans * perPlan);
          expect(retries).toBeLessThanOrEqual(share);
          expect(requests).toBeLessThanOrEqual(plans * perPlan + share);
          expect(requests).toBeGreaterThanOrEqual(plans * perPlan);
          expect(exhausted).toBeGreaterThanOrEqual(plans * perPlan - share);
        },
      });
    } finally {
      subscription.unsubscribe();
    }
  });

  it('fails fragments in under a millisecond each while the circuit is open, and one probe closes it', async () => {
    const a = await api();
    a.route.set(itemRows);
    const breaker = { failureThreshold: 3, resetTimeoutMs: 1500 };
    const executor = faultExecutor(
      { api: httpSource({ baseUrl: a.url }), local: localSource() },
      { circuitBreaker: breaker, retryBudget: false, retry: { attempts: 1 }, timeoutMs: 5000 },
    );
    const seen: ExecutionEvent[] = [];
    const subscription = executor.events$.subscribe((e) => seen.push(e));
    const plans = 5;
    const perPlan = 100;
    let before = 0;
    let openedAt = 0;
    try {
      await runScenario({
        name: 'http: open circuit fails 500 fragments fast; one probe closes it',
        server: 'http',
        executor,
        plan: manyPlan('http-circuit', perPlan),
        inject: async () => {
          a.route.set(storm(503));
          // Three failures in a row open the circuit.
          const trip = await executor.execute(manyPlan('http-circuit-trip', breaker.failureThreshold));
          expect(trip.status).toBe('partial');
          expect(seen.filter((e) => e.type === 'source.circuit.opened')).toHaveLength(1);
          expect(executor.metrics().sources.api?.circuit).toBe('open');
          openedAt = seen.length;
          before = a.tracker.arrivals.length;
          for (let i = 0; i < plans - 1; i++) expect((await executor.execute(manyPlan(`http-circuit-${i}`, perPlan))).status).toBe('partial');
        },
        heal: async () => {
          expect(executor.metrics().sources.api?.circuit).toBe('open');
          a.route.set(itemRows);
          await sleep(breaker.resetTimeoutMs + 50);
          expect(executor.metrics().sources.api?.circuit).toBe('half-open');
          const probeRun = await executor.execute(manyPlan('http-circuit-probe', 1));
          expect(probeRun.status).toBe('ok');
          expect(seen.filter((e) => e.type === 'source.circuit.closed')).toHaveLength(1);
          expect(executor.metrics().sources.api?.circuit).toBe('closed');
        },
        expect: 'partial',
        cause: { fragmentId: 'api_0', code: 'SOURCE_UNAVAILABLE' },
        statementsRunning: async () => a.tracker.open(),
        check: () => {
          // Not one request reached the API while the circuit was open: only the probe's, then the rerun's.
          expect(a.tracker.arrivals.length - before).toBe(1 + perPlan);
          const whileOpen = seen.slice(openedAt).filter((e) => e.queryId !== 'http-circuit-probe');
          const failed = whileOpen.filter((e): e is Extract<ExecutionEvent, { type: 'fragment.failed' }> => e.type === 'fragment.failed');
          expect(failed).toHaveLength(plans * perPlan);
          expect(failed.every((e) => /circuit is open/.test(e.error.message))).toBe(true);
          // The measured figure: the mean time from a fragment's start to its failure.
          const mean = failed.reduce((sum, e) => sum + e.durationMs, 0) / failed.length;
          expect(mean).toBeLessThan(1);
          expect(whileOpen.filter((e) => e.type === 'fragment.retrying')).toHaveLength(0);
        },
      });
    } finally {
      subscription.unsubscribe();
    }
  });
});
