import { expect } from 'vitest';
import type { SourceExecutor } from '../../src/sources/index.js';
import { driverCodes, firstFailure, once } from './fault-events.js';
import { localSource, unionPlan } from './fault-plans.js';
import type { FaultProxy } from './fault-proxy.js';
import { faultExecutor, probeSource, runScenario, type ScenarioSpec } from './fault-scenario.js';
import { sqlTag } from './fault-server.js';

/**
 * The network faults every pooled SQL source must survive, as one table: latency,
 * bandwidth, a reset mid-result (once, and always), a blackhole (healed, and until the
 * deadline), refused connections (healed, and for good). A fault suite passes its server,
 * its proxy and its SQL; the scenarios are the same for every database.
 */
export interface NetworkTarget {
  server: 'postgres' | 'mysql';
  /** The source's registered name and its fragment's id. */
  id: string;
  proxy(): FaultProxy;
  /** A source that connects through the proxy. */
  source(): SourceExecutor;
  /** ~40 KB of rows, tagged so the server's activity can be watched. */
  itemsSql(tag: string): string;
  running(tag: string): Promise<number>;
  /** The driver codes a reset connection is reported with. */
  resetCodes: RegExp;
  /** The driver codes the first attempt against a refusing server fails with (a pooled connection may see a reset first). */
  refusedCodes: RegExp;
  /** After refusing connections, before the call (e.g. let the pool see its idle connection die). */
  afterRefuse?(): Promise<void>;
}

export interface FaultCase {
  name: string;
  run(): Promise<void>;
}

export function networkFaultCases(t: NetworkTarget): FaultCase[] {
  const scenario = (
    name: string,
    spec: Omit<ScenarioSpec, 'name' | 'server' | 'executor' | 'plan' | 'probe' | 'statementsRunning'>,
    options: { timeoutMs?: number; deadlineMs?: number; watch?: boolean } = {},
  ) => {
    const tag = sqlTag();
    const source = t.source();
    return runScenario({
      name: `${t.server}: ${name}`,
      server: t.server,
      executor: faultExecutor({ [t.id]: source, local: localSource() }, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      plan: unionPlan(`${t.id}-${name.replace(/\W+/g, '-')}`, { id: t.id, source: t.id, query: { sql: t.itemsSql(tag) } }, { deadlineMs: options.deadlineMs ?? 5000 }),
      ...(options.watch === false ? {} : { statementsRunning: () => t.running(tag) }),
      probe: () => probeSource(source, { sql: 'SELECT 1 AS ok' }),
      heal: () => t.proxy().heal(),
      ...spec,
    });
  };
  const refuse = async () => {
    await t.proxy().refuse({ dropExisting: true });
    await t.afterRefuse?.();
  };
  return [
    {
      name: 'survives latency on every chunk (rows equal the baseline, no retry)',
      run: async () => {
        const r = await scenario('20 ms latency per chunk', { inject: () => t.proxy().latency(20), expect: 'recovered' }, { timeoutMs: 3000, deadlineMs: 8000 });
        expect(r.retries).toBe(0);
      },
    },
    {
      name: 'survives a bandwidth limit',
      run: async () => {
        await scenario('200 KB/s bandwidth limit', { inject: () => t.proxy().bandwidth(200_000), expect: 'recovered' }, { timeoutMs: 4000, deadlineMs: 8000 });
      },
    },
    {
      name: 'retries a connection reset mid-result once, without losing or duplicating a row',
      run: async () => {
        await scenario('connection reset after 4 KB of the result, once', {
          inject: () => t.proxy().resetAfter(4096, { once: true }),
          expect: 'recovered',
          check: ({ events }) => {
            expect(t.proxy().stats().resets).toBeGreaterThan(0);
            expect(driverCodes(events)).toEqual([expect.stringMatching(t.resetCodes)]);
          },
        });
      },
    },
    {
      name: 'reports a fragment whose every connection is reset as partial, naming it and the cause',
      run: async () => {
        await scenario('every connection reset after 4 KB', {
          inject: () => t.proxy().resetAfter(4096),
          expect: 'partial',
          cause: { fragmentId: t.id, code: 'SOURCE_UNAVAILABLE', driverCode: t.resetCodes },
          check: ({ result }) => expect(result?.fragments[t.id]?.attempts).toBe(3),
        });
      },
    },
    {
      name: 'times out an attempt into a blackhole and recovers once the network is back',
      run: async () => {
        await scenario(
          'blackhole until the first attempt times out',
          {
            inject: () => t.proxy().blackhole('all'),
            onEvent: once(firstFailure, () => void t.proxy().heal()),
            expect: 'recovered',
            check: ({ events }) => expect(events.some((e) => e.type === 'fragment.attempt.failed' && e.error.code === 'TIMEOUT')).toBe(true),
          },
          { timeoutMs: 400 },
        );
      },
    },
    {
      name: 'ends a fragment stuck in a blackhole at its deadline',
      run: async () => {
        await scenario(
          'permanent blackhole, 1.5 s deadline',
          { inject: () => t.proxy().blackhole('all'), expect: 'partial', cause: { fragmentId: t.id, code: 'TIMEOUT' } },
          { timeoutMs: 400, deadlineMs: 1500 },
        );
      },
    },
    {
      name: 'retries refused connections and recovers when the server listens again',
      run: async () => {
        await scenario('connections refused, then back', {
          inject: refuse,
          onEvent: once(firstFailure, () => void t.proxy().heal()),
          expect: 'recovered',
          check: ({ events }) => expect(driverCodes(events)).toContainEqual(expect.stringMatching(t.refusedCodes)),
        });
      },
    },
    {
      name: 'names ECONNREFUSED when the server stays down',
      run: async () => {
        await scenario(
          'connections refused for good',
          { inject: refuse, expect: 'partial', cause: { fragmentId: t.id, code: 'SOURCE_UNAVAILABLE', driverCode: 'ECONNREFUSED' } },
          { watch: false },
        );
      },
    },
  ];
}
