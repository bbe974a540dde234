import { expect } from 'vitest';
import type { SourceExecutor } from '../../src/sources/index.js';
import { driverCodes, firstFailure, once } from './fault-events.js';
import type { FaultCase } from './fault-network.js';
import { localSource, unionPlan } from './fault-plans.js';
import { faultExecutor, probeSource, runScenario, type ScenarioSpec } from './fault-scenario.js';
import { sqlTag, type ForcedDeadlock, type LimitedLogin } from './fault-server.js';

/**
 * The server-side faults every pooled SQL source must survive, as one table: an operator
 * ending the session that runs the fragment (retried) or cancelling its statement (not
 * retried), a forced deadlock (the aborted side retried), a login out of connections (while
 * it lasts, and for good), and a server turning slow past the attempt timeout (the
 * statement is stopped on the server). A fault suite passes its server's ways of doing each.
 */
export interface ServerTarget {
  server: 'postgres' | 'mysql';
  /** The source's registered name and its fragment's id. */
  id: string;
  /** A source straight to the server (no proxy). */
  direct(): SourceExecutor;
  itemsSql(tag: string): string;
  /** `itemsSql` that sleeps `seconds` once first. */
  sleepySql(tag: string, seconds?: number): string;
  running(tag: string): Promise<number>;
  /** Ends the session running `tag` once it runs (pg_terminate_backend, KILL CONNECTION). */
  endSession: { what: string; run(tag: string): Promise<unknown>; codes: RegExp };
  /** Cancels the statement running `tag` (pg_cancel_backend, KILL QUERY). */
  cancelStatement: { what: string; run(tag: string): Promise<unknown>; code: string };
  deadlock: { source(): SourceExecutor; sql(tag: string): string; start(tag: string): Promise<ForcedDeadlock & { dispose(): Promise<void> }>; code: string };
  connectionLimit: { what: string; login(): Promise<LimitedLogin>; source(url: string): SourceExecutor; code: string };
  /** Statement text that sleeps as long as the knob says, and the knob. */
  slow: { sql(tag: string): string; set(seconds: number): Promise<void> };
}

export function serverFaultCases(t: ServerTarget): FaultCase[] {
  type Spec = Omit<ScenarioSpec, 'name' | 'server' | 'plan' | 'statementsRunning'>;
  const scenario = (name: string, tag: string, sql: string, deadlineMs: number, spec: Spec) =>
    runScenario({
      name: `${t.server}: ${name}`,
      server: t.server,
      plan: unionPlan(`${t.id}-${name.replace(/\W+/g, '-')}`, { id: t.id, source: t.id, query: { sql } }, { deadlineMs }),
      statementsRunning: () => t.running(tag),
      ...spec,
    });
  const on = (source: SourceExecutor, options: Parameters<typeof faultExecutor>[1] = {}) => faultExecutor({ [t.id]: source, local: localSource() }, options);
  const probe = (source: SourceExecutor) => () => probeSource(source, { sql: 'SELECT 1 AS ok' });
  const limited = async (forGood: boolean) => {
    const tag = sqlTag();
    const login = await t.connectionLimit.login();
    const source = t.connectionLimit.source(login.url);
    try {
      await scenario(`${t.connectionLimit.what} used up${forGood ? ' for good' : ', then freed'}`, tag, t.itemsSql(tag), 5000, {
        // The baseline runs as the admin: the limited pool stays empty until the fault.
        baselineExecutor: on(t.direct()),
        // A few more tries: the freed slot takes a moment to leave the server's books.
        executor: on(source, forGood ? {} : { retry: { attempts: 5 } }),
        inject: () => login.occupy(),
        ...(forGood ? {} : { onEvent: once(firstFailure, () => void login.free()) }),
        heal: () => login.free(),
        expect: forGood ? 'partial' : 'recovered',
        ...(forGood
          ? { cause: { fragmentId: t.id, code: 'SOURCE_UNAVAILABLE' as const, driverCode: t.connectionLimit.code } }
          : { check: ({ events }) => expect(driverCodes(events)[0]).toBe(t.connectionLimit.code) }),
        probe: probe(source),
      });
    } finally {
      await login.drop();
    }
  };
  return [
    {
      name: `retries after ${t.endSession.what} ends the session running the fragment`,
      run: async () => {
        const tag = sqlTag();
        const source = t.direct();
        await scenario(`${t.endSession.what} of the running fragment`, tag, t.sleepySql(tag), 8000, {
          executor: on(source, { timeoutMs: 3000 }),
          during: async () => void (await t.endSession.run(tag)),
          expect: 'recovered',
          probe: probe(source),
          check: ({ events }) => expect(driverCodes(events)).toEqual([expect.stringMatching(t.endSession.codes)]),
        });
      },
    },
    {
      name: `does not retry a statement stopped by ${t.cancelStatement.what} (${t.cancelStatement.code})`,
      run: async () => {
        const tag = sqlTag();
        const source = t.direct();
        // Two seconds of sleep: long enough that a loaded machine still cancels it mid-flight.
        await scenario(`${t.cancelStatement.what} of the running fragment (not retryable)`, tag, t.sleepySql(tag, 2), 8000, {
          executor: on(source, { timeoutMs: 3000 }),
          during: async () => void (await t.cancelStatement.run(tag)),
          expect: 'partial',
          cause: { fragmentId: t.id, code: 'FRAGMENT_FAILED', driverCode: t.cancelStatement.code },
          probe: probe(source),
          check: ({ result }) => expect(result?.fragments[t.id]?.attempts).toBe(1),
        });
      },
    },
    {
      name: `retries the side of a forced deadlock the server aborted (${t.deadlock.code})`,
      run: async () => {
        const tag = sqlTag();
        const deadlock = await t.deadlock.start(tag);
        const source = t.deadlock.source();
        try {
          await scenario('forced deadlock with an admin transaction', tag, t.deadlock.sql(tag), 8000, {
            executor: on(source, { timeoutMs: 4000 }),
            inject: () => deadlock.arm(),
            during: () => deadlock.close(),
            heal: () => deadlock.release(),
            expect: 'recovered',
            probe: probe(source),
            check: ({ events }) => expect(driverCodes(events)).toEqual([t.deadlock.code]),
          });
        } finally {
          await deadlock.dispose();
        }
      },
    },
    {
      name: `retries while ${t.connectionLimit.what} has no connection left, and recovers when one frees up (${t.connectionLimit.code})`,
      run: () => limited(false),
    },
    {
      name: `fails the fragment, naming ${t.connectionLimit.code}, while the connection limit stays used up`,
      run: () => limited(true),
    },
    {
      name: 'stops a statement that outlives its attempt timeout on the server, leaving nothing running',
      run: async () => {
        const tag = sqlTag();
        const source = t.direct();
        await scenario('the server turns slow (statement past the attempt timeout)', tag, t.slow.sql(tag), 3000, {
          executor: on(source, { timeoutMs: 400, retry: { attempts: 2, initialDelayMs: 20, maxDelayMs: 50 } }),
          inject: () => t.slow.set(5),
          heal: () => t.slow.set(0),
          expect: 'partial',
          cause: { fragmentId: t.id, code: 'TIMEOUT' },
          probe: probe(source),
        });
      },
    },
  ];
}
