import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../src/index.js';
import { createLane, type LaneClient, type LaneTicket } from '../../src/execution/lanes.js';
import { flush } from '../support/engine.js';

/**
 * A lane whose slots are all held by long calls, while callers keep joining its queue and
 * giving up (cancelled, past their deadline): what it holds must follow the calls still
 * waiting, not every call that ever waited (each one reaches its whole run).
 */
describe('a saturated lane whose waiters leave', () => {
  const client = (log: string[], name: string): LaneClient => ({
    granted: () => log.push(`granted ${name}`),
    shed: () => log.push(`shed ${name}`),
  });

  it('holds about as many entries as calls still waiting, however many left', () => {
    const lane = createLane(1);
    const log: string[] = [];
    const holder = lane.acquire(client(log, 'holder'));
    const staying: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const ticket = lane.acquire(client(log, `w${i}`));
      if (i % 1000 === 0) staying.push(`w${i}`);
      else ticket.release();
    }
    expect(lane.stats()).toEqual({ limit: 1, running: 1, queued: staying.length });
    // Before: 10,000 entries (every waiter that left, and the run behind it, kept until the holder ends).
    expect(lane.backlog).toBeLessThanOrEqual(2 * staying.length + 64);
    holder.release();
    expect(log).toEqual(['granted holder', `granted ${staying[0]}`]);
    lane.close();
  });

  it('still grants the calls that stayed, in the order they came', async () => {
    const lane = createLane(2);
    const log: string[] = [];
    const holders = [lane.acquire(client(log, 'h1')), lane.acquire(client(log, 'h2'))];
    const kept = new Map<string, LaneTicket>();
    for (let i = 0; i < 3000; i++) {
      const ticket = lane.acquire(client(log, `w${i}`));
      if (i % 7 === 3) kept.set(`w${i}`, ticket);
      else ticket.release();
    }
    for (const h of holders) h.release();
    // Each granted call ends at once, handing its slot on.
    for (let n = 0; n < kept.size; n++) {
      const name = log.filter((l) => l.startsWith('granted w'))[n]!.slice('granted '.length);
      kept.get(name)!.release();
    }
    await flush();
    expect(log.filter((l) => l.startsWith('granted w'))).toEqual([...kept.keys()].map((k) => `granted ${k}`));
    expect(lane.stats()).toEqual({ limit: 2, running: 0, queued: 0 });
    lane.close();
  });

  it('loses no waiting call when shedding one stops others that wait behind it', () => {
    const clock = createVirtualClock();
    const lane = createLane(1, { clock, maxQueueMs: 100 });
    const log: string[] = [];
    const holder = lane.acquire(client(log, 'holder'));
    // A run's first call is shed; its run then stops its 200 other waiting calls, which
    // compacts the queue while the lane is still shedding.
    const others: LaneTicket[] = [];
    lane.acquire({ granted: () => log.push('granted first'), shed: () => (log.push('shed first'), others.forEach((t) => t.release())) });
    clock.advance(50);
    for (let i = 0; i < 200; i++) others.push(lane.acquire(client(log, `other${i}`)));
    lane.acquire(client(log, 'last'));
    clock.advance(50);
    expect(log).toEqual(['granted holder', 'shed first']);
    expect(lane.stats().queued).toBe(1);
    holder.release();
    expect(log).toEqual(['granted holder', 'shed first', 'granted last']);
    lane.close();
  });
});
