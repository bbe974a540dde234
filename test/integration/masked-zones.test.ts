import { expect, it } from 'vitest';
import { createExecutor, postgresSource, type ExecutionEvent } from '../../src/index.js';
import { describeWithServer, requireServer } from '../support/servers.js';

/**
 * A server echoes a bound `Date` in its session's time zone, which may be neither UTC nor
 * this process's (a role's or a database's default, `SET TIME ZONE`): the echo is masked
 * whatever zone the session is in. What the server echoes is asked of it first, in the same
 * zone (the oracle); the run's own error keeps it, events$ may not.
 */
const postgres = await requireServer('postgres');

/** Runs `sql` with the run param `v` on a session in `zone`: the caller's error and the one events$ carried. */
async function failure(zone: string, sql: string, v: Date): Promise<{ own: string; shown: string; echo: string }> {
  const executor = createExecutor({ sources: { s: postgresSource({ url: postgres.url, options: `-c TimeZone=${zone}` }) }, cache: false, retry: { attempts: 1 } });
  const events: ExecutionEvent[] = [];
  executor.events$.subscribe((e) => events.push(e));
  const run = (text: string) => executor.execute({ fragments: [{ id: 'f', source: 's', query: { sql: text, params: [{ $param: 'v' }] } }] }, { params: { v } });
  try {
    const oracle = await run(`SELECT (${sql})::text AS echo`);
    expect(oracle.errors).toEqual([]);
    const result = await run(`SELECT (${sql})::text::int AS x`);
    const failed = events.find((e) => e.type === 'fragment.failed');
    return { own: result.errors[0]!.message, shown: failed?.type === 'fragment.failed' ? failed.error.message : 'no fragment.failed', echo: String(oracle.rows[0]!.echo) };
  } finally {
    await executor.close();
  }
}

const LATE = new Date(Date.UTC(2024, 0, 2, 22, 30, 5, 250));

describeWithServer(postgres, 'PostgreSQL: a Date echoed in a third time zone', () => {
  for (const { zone, sql } of [
    { zone: 'Asia/Kathmandu', sql: '$1::timestamptz' },
    { zone: 'America/St_Johns', sql: '$1::timestamptz::timestamp' },
    { zone: 'Pacific/Kiritimati', sql: '$1::timestamptz::date' },
    { zone: 'Pacific/Chatham', sql: '$1::timestamptz' },
  ]) {
    it(`${sql} in ${zone}`, async () => {
      const { own, shown, echo } = await failure(zone, sql, LATE);
      // Neither UTC's nor this process's fields: a third zone's.
      expect(echo).not.toContain('2024-01-02 22:30');
      expect(own).toContain(`invalid input syntax for type integer: "${echo}"`);
      // All of it but the zone's offset (PostgreSQL prints `+05:45` after the fields).
      expect(shown).toMatch(/invalid input syntax for type integer: "\[param\](?:[+-]\d\d(?::\d\d)?)?"/);
    });
  }
});

/** A summer moment: zones on daylight time then are at offsets no zone uses in standard time (America/St_Johns: -02:30). */
const SUMMER = new Date(Date.UTC(2024, 6, 2, 22, 30, 5, 250));

describeWithServer(postgres, 'PostgreSQL: a Date echoed at a daylight-saving offset', () => {
  for (const zone of ['America/St_Johns']) {
    it(`$1::timestamptz::timestamp in ${zone} in July`, async () => {
      const { shown, echo } = await failure(zone, '$1::timestamptz::timestamp', SUMMER);
      expect(echo).not.toContain('2024-07-02 22:30');
      expect(shown).toMatch(/invalid input syntax for type integer: "\[param\]"/);
    });
  }
});
