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

  it('gives a coordinator and a worker whose own clocks are minutes apart the budget less the queue wait', async () => {
    // One scripted Redis clock; the coordinator's own clock 10 minutes fast, the worker's 3 slow.
    let redis = 1_700_000_000_000;
    const source: TimeSource = { time: () => Promise.resolve(timeReply(redis)) };
    const coordinator = new RedisClock(source, () => redis + 600_000);
    const worker = new RedisClock(source, () => redis - 180_000);
    await Promise.all([coordinator.sync(), worker.sync()]);
    const sentAt = coordinator.fromLocal(redis + 600_000);
    // The job waits 1.2 s in the queue.
    redis += 1_200;
    expect(remainingBudgetMs({ budgetMs: 5_000, sentAt }, worker.now())).toBe(3_800);
    // Read on each process's own clock, the same wait would count as nothing, or as 13 minutes.
    expect(remainingBudgetMs({ budgetMs: 5_000, sentAt: redis - 1_200 + 600_000 }, redis - 180_000)).toBe(5_000);
    expect(remainingBudgetMs({ budgetMs: 5_000, sentAt: redis - 1_200 - 180_000 }, redis + 600_000)).toBe(5_000 - 781_200);
  });
});

describeRedis('RedisClock (the real Redis)', () => {
  let client: Redis;
  beforeAll(() => {
    client = new Redis(REDIS_URL);
  });
  afterAll(() => client.disconnect());

  it('reads ioredis’s TIME reply: the offset is Redis’s time minus the (frozen) local clock', async () => {
    let reply: readonly (string | number)[] = [];
    const recorded: TimeSource = { time: async () => (reply = await client.time()) };
    const local = 1_000_000;
    const clock = new RedisClock(recorded, () => local);
    await clock.sync();
    const redisMs = Number(reply[0]) * 1000 + Number(reply[1]) / 1000;
    expect(reply).toHaveLength(2);
    expect(Number.isFinite(redisMs)).toBe(true);
    expect(clock.now()).toBe(redisMs);
    expect(clock.fromLocal(local + 250)).toBe(redisMs + 250);
  });
});
