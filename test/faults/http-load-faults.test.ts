import { afterAll, afterEach, expect, it, describe } from 'vitest';
import type { ExecutionEvent } from '../../src/progress/events.js';
import { httpSource } from '../../src/sources/http/connector.js';
import { storm } from '../support/fault-http.js';
import { apiPool, itemRows, manyPlan } from '../support/fault-api.js';
import { localSource } from '../support/fault-plans.js';
import { faultExecutor, runScenario, unhandledRejections } from '../support/fault-scenario.js';

describe('fault suite: HTTP under load (retry budget, circuit breaker)', () => {
  const pool = apiPool();
  const { api } = pool;
  afterEach(() => pool.closeAll());
  afterAll(() => {
    expect(unhandledRejections()).toEqual({ count: 0, reasons: [] });
  });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
