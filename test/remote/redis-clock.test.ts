import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remainingBudgetMs } from '../../src/remote/job-budget.js';
import { RedisClock, type TimeSource } from '../../src/remote/redis-clock.js';
import { describeRedis, REDIS_URL } from '../support/redis.js';

/** A TIME reply for `ms` on Redis's clock. */
const timeReply = (ms: number): [string, string] => [String(Math.floor(ms / 1000)), String(Math.round((ms % 1000) * 1000))];

describe('RedisClock (a scripted TIME)', () => {
  it('puts local readings on Redis’s clock: the offset is Redis’s time minus the midpoint of the round trip', async () => {
    let local = 1_000;
    // Redis reads 50,000 while the local clock goes from 1,000 to 1,010.
    const source: TimeSource = {
      time: () => {
        local += 10;
        return Promise.resolve(timeReply(50_000));
      },
    };
    const clock = new RedisClock(source, () => local);
    await clock.sync();
    expect(clock.fromLocal(1_005)).toBe(50_000);
    expect(clock.fromLocal(2_005)).toBe(51_000);
  });

  it('refreshes a stale offset in the background and keeps the last one when Redis does not answer', async () => {
    let local = 0;
    let redis = 10_000;
    let answers = true;
    let asked = 0;
    const source: TimeSource = {
      time: () => {
        asked++;
        return answers ? Promise.resolve(timeReply(redis)) : Promise.reject(new Error('down'));
      },
    };
    const clock = new RedisClock(source, () => local, 1_000);
    await clock.measured();
    expect(clock.now()).toBe(10_000);
    expect(asked).toBe(1);
    // Fresh: no new TIME.
    local = 500;
    expect(clock.now()).toBe(10_500);
    expect(asked).toBe(1);
    // Stale: this reading uses the old offset and starts a refresh; Redis's clock moved.
    local = 1_000;
    redis = 20_000;
    expect(clock.now()).toBe(11_000);
    expect(asked).toBe(2);
    await clock.measured();
    await Promise.resolve();
    await Promise.resolve();
    expect(clock.now()).toBe(20_000);
    // Redis down at the next refresh: the offset it had stays.
    answers = false;
    local = 3_000;
    expect(clock.now()).toBe(22_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(clock.now()).toBe(22_000);
  });
});

describeRedis('RedisClock (the real Redis)', () => {
  let client: Redis;
  beforeAll(() => {
    client = new Redis(REDIS_URL);
  });
  afterAll(() => client.disconnect());

  it('gives a coordinator and a worker whose own clocks are minutes apart the same budget left', async () => {
    // The coordinator's clock 10 minutes fast, the worker's 3 minutes slow.
    const coordinator = new RedisClock(client, () => Date.now() + 600_000);
    const worker = new RedisClock(client, () => Date.now() - 180_000);
    await Promise.all([coordinator.sync(), worker.sync()]);
    const sentAt = coordinator.fromLocal(Date.now() + 600_000);
    const left = remainingBudgetMs({ budgetMs: 5_000, sentAt }, worker.now())!;
    // Only the offsets' error (half a loopback round trip each) separates them, not 13 minutes.
    expect(left).toBeGreaterThan(4_000);
    expect(left).toBeLessThanOrEqual(5_000);
    // Read on each process's own clock, the worker would think the budget long spent (or never
    // started): the skew is what the shared clock takes out.
    expect(remainingBudgetMs({ budgetMs: 5_000, sentAt: Date.now() + 600_000 }, Date.now() - 180_000)).toBe(5_000);
    expect(remainingBudgetMs({ budgetMs: 5_000, sentAt: Date.now() - 180_000 }, Date.now() + 600_000)).toBeLessThan(-700_000);
  });
});
