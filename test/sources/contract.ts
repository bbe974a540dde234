import { afterAll, beforeAll, it } from 'vitest';
import { describeWithServer } from '../support/servers.js';
import { cancelCases } from './contract/cancel.js';
import { closingCases } from './contract/closing.js';
import { errorCases } from './contract/errors.js';
import { limitCases } from './contract/limits.js';
import { listCases } from './contract/lists.js';
import { poolCases } from './contract/pool.js';
import { processCases } from './contract/process.js';
import { streamingCases } from './contract/streaming.js';
import type { ContractSubject } from './contract/subject.js';
import type { ContractCase } from './contract/support.js';
import { valueCases } from './contract/values.js';

/**
 * The connector contract: what every source must do, as one table of cases run against
 * the connector's real server. A connector's test file describes its subject (how to make
 * the source, how to say a few things in its query language) and calls `runContract`.
 *
 * @example
 * runContract({ name: 'mine', create: () => mySource(...), value: ..., rows: ..., numbersIn: ..., invalid: [...], streams: true, bytes: 'estimate' });
 */
export type { ContractSubject, PolicyType, Call } from './contract/subject.js';
export type { ContractCase } from './contract/support.js';

/** Every case the subject's capabilities call for, as plain async functions (so a test can run them itself). */
export function contractCases<Q>(subject: ContractSubject<Q>): ContractCase[] {
  return [
    ...valueCases(subject),
    ...listCases(subject),
    ...streamingCases(subject),
    ...cancelCases(subject),
    ...poolCases(subject),
    ...errorCases(subject),
    ...limitCases(subject),
    ...closingCases(subject),
    ...processCases(subject),
  ];
}

/**
 * Registers the contract as a vitest suite named after the subject. `skip` is why the
 * subject's server is not there (from `requireServer`, which throws instead under CI=true):
 * the suite is then reported as skipped with that reason, as every server-bound suite is.
 */
export function runContract<Q>(subject: ContractSubject<Q>, options: { skip?: string | undefined } = {}): void {
  describeWithServer({ skipReason: options.skip }, `connector contract: ${subject.name}`, () => {
    beforeAll(async () => subject.setup?.(), 60_000);
    afterAll(async () => subject.teardown?.(), 60_000);
    for (const c of contractCases(subject)) it(c.name, () => c.run());
  });
}
