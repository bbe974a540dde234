import { z } from 'zod';
import { TributaryError } from './errors.js';
import { estimateRowsBytes } from './data/bytes.js';
import type { Row } from './data/row.js';
import { FragmentWindow } from './quota-window.js';

/** Per-principal quotas; runs without a principal share one book of their own (not that of a principal whose id is `anonymous`). */
export const quotaOptionsSchema = z.strictObject({
  /** Queries one principal may have running at once. */
  maxRunningQueries: z.number().int().positive().optional(),
  /** Fragments one principal may start in any sliding minute. */
  maxFragmentsPerMinute: z.number().int().positive().optional(),
  /** Rows one query may fetch from its sources, over all fragments. */
  maxRowsPerQuery: z.number().int().positive().optional(),
  /** Estimated bytes one query may fetch from its sources, over all fragments. */
  maxBytesPerQuery: z.number().int().positive().optional(),
});
export type QuotaOptions = z.infer<typeof quotaOptionsSchema>;

/** What admission hands a run: its row accounting and the release of its slot. */
export interface QuotaTicket {
  /** Counts a fragment's rows against the query's quota; throws LIMIT_EXCEEDED past it. */
  account(fragmentId: string, rows: readonly Row[]): void;
  /** Gives the running-query slot back; idempotent. `started: false`: the run never began, its fragments do not count in the minute either. */
  release(started?: boolean): void;
}

export interface Quotas {
  /** Admits a run or throws QUOTA_EXCEEDED before anything starts. */
  admit(principalId: string | undefined, fragments: number): QuotaTicket;
}

const WINDOW_MS = 60_000;

/** Creates the quota book-keeping of one executor; `now` is injectable for tests. */
export function createQuotas(options: QuotaOptions = {}, now: () => number = Date.now): Quotas {
  const running = new Map<string, number>();
  const started = new FragmentWindow(WINDOW_MS);

  return {
    admit(principalId, fragments) {
      // Booked apart: a principal whose id is "anonymous" must not share the anonymous runs' quota.
      // Named as FORBIDDEN names them: the id quoted, so it cannot forge a line or pass for the anonymous caller.
      const who = principalId === undefined ? 'an anonymous caller' : `principal ${JSON.stringify(principalId)}`;
      const book = principalId === undefined ? '' : `p:${principalId}`;
      const counted = options.maxRunningQueries !== undefined;
      const r = counted ? (running.get(book) ?? 0) : 0;
      if (counted && r >= options.maxRunningQueries!) {
        throw quota(`${who} already has ${r} running queries; the quota is ${options.maxRunningQueries}`, 'maxRunningQueries');
      }
      let start: number | undefined;
      if (options.maxFragmentsPerMinute !== undefined) {
        const at = now();
        const used = started.used(book, at);
        if (used + fragments > options.maxFragmentsPerMinute) {
          throw quota(`${who} started ${used} fragments in the last minute; ${fragments} more would pass the quota of ${options.maxFragmentsPerMinute}`, 'maxFragmentsPerMinute');
        }
        start = started.add(book, fragments, at);
      }
      // Nothing to count per query: every run shares one ticket that does nothing.
      if (!counted && start === undefined && options.maxRowsPerQuery === undefined && options.maxBytesPerQuery === undefined) return FREE;
      if (counted) running.set(book, r + 1);
      let released = false;
      let rows = 0;
      let bytes = 0;
      return {
        account(fragmentId, fetched) {
          rows += fetched.length;
          if (options.maxRowsPerQuery !== undefined && rows > options.maxRowsPerQuery) {
            throw new TributaryError('LIMIT_EXCEEDED', `the query fetched more than ${options.maxRowsPerQuery} rows (at fragment "${fragmentId}")`, {
              issues: [{ path: 'quotas.maxRowsPerQuery', message: `exceeded at fragment "${fragmentId}"` }],
            });
          }
          if (options.maxBytesPerQuery !== undefined) {
            bytes += estimateRowsBytes(fetched);
            if (bytes > options.maxBytesPerQuery) {
              throw new TributaryError('LIMIT_EXCEEDED', `the query fetched more than ${options.maxBytesPerQuery} bytes (estimated, at fragment "${fragmentId}")`, {
                issues: [{ path: 'quotas.maxBytesPerQuery', message: `exceeded at fragment "${fragmentId}"` }],
              });
            }
          }
        },
        release(begun = true) {
          if (released) return;
          released = true;
          if (!begun && start !== undefined) started.takeBack(start);
          if (!counted) return;
          const left = (running.get(book) ?? 1) - 1;
          if (left <= 0) running.delete(book);
          else running.set(book, left);
        },
      };
    },
  };
}

/** The ticket of a run under no per-query or running-query quota. */
const FREE: QuotaTicket = { account: () => undefined, release: () => undefined };

function quota(message: string, path: string): TributaryError {
  return new TributaryError('QUOTA_EXCEEDED', message, { issues: [{ path: `quotas.${path}`, message }] });
}
