import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { jobRequests, REQUEST_COUNT_TTL_MS } from '../../src/remote/job-requests.js';
import { remoteKeys } from '../../src/remote/connection.js';
import { RequestCap } from '../../src/sources/http/request-cap.js';
import { describeRedis, dropPrefix, inspectClient } from '../support/redis.js';

/**
 * A job's side of its fragment's request count in Redis: reserve-if-fits from the count (at
 * least what the fragment had sent when the job was queued), held to the cap the job carries,
 * given back when the job ends, and always under a TTL.
 */
describeRedis("a remote job's share of its fragment's request count", () => {
  const queue = `tributary-test-${randomUUID()}`;
  const keys = remoteKeys(queue);
  const subject = { fragmentId: 'f', source: 'http' };
  let client: Redis;

  beforeAll(() => {
    client = inspectClient();
  });
  afterEach(async () => {
    await dropPrefix(client, `tributary:${queue}:`);
  });
  afterAll(() => client?.disconnect());

  it('reserves what fits beside the other jobs and the seed, refuses what does not, and sets a TTL', async () => {
    const tally = randomUUID();
    const a = jobRequests(client, keys.requests, { requests: 3, requestCap: { max: 10, tally } });
    const b = jobRequests(client, keys.requests, { requests: 0, requestCap: { max: 10, tally } });
    // The count starts at what the fragment had sent (3): a's 5 fit, b's 3 then do not.
    expect(await a.tally.shared!.reserve(5, 10)).toEqual({ fits: true, before: 3 });
    expect(await b.tally.shared!.reserve(3, 10)).toEqual({ fits: false, before: 8 });
    expect(await b.tally.shared!.reserve(2, 10)).toEqual({ fits: true, before: 8 });
    expect(await client.get(keys.requests(tally))).toBe('10');
    const ttl = await client.pttl(keys.requests(tally));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(REQUEST_COUNT_TTL_MS);
  });

  it("holds the call to the smaller of the job's cap and the connector's own, and gives back what it did not send", async () => {
    const tally = randomUUID();
    // The connector's own cap (4) is smaller than the list (6): it refuses, nothing reserved.
    const refused = jobRequests(client, keys.requests, { requests: 0, requestCap: { max: 10, tally } });
    await expect(RequestCap.open(4, 6, refused.tally, subject)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringContaining('maxRequests=4') });
    expect(await client.get(keys.requests(tally))).toBeNull();
    const job = jobRequests(client, keys.requests, { requests: 0, requestCap: { max: 10, tally } });
    // The connector's own cap (1000) is larger: the job's (10) decides.
    const opened = RequestCap.open(1000, 6, job.tally, subject);
    expect(opened).toBeInstanceOf(Promise);
    const cap = await opened;
    // A listed request was reserved with its list: no round trip.
    expect(cap.send(true)).toBeUndefined();
    expect(cap.send(true)).toBeUndefined();
    await cap.send(false); // a page: reserved on its own
    cap.end();
    expect(await client.get(keys.requests(tally))).toBe('7');
    // 6 listed and a page reserved, 3 sent: 4 given back.
    expect(await job.settle()).toBe(3);
    expect(await client.get(keys.requests(tally))).toBe('3');
    // Past the job's cap: LIMIT_EXCEEDED at the fragment, nothing reserved.
    const next = jobRequests(client, keys.requests, { requests: 3, requestCap: { max: 10, tally } });
    await expect(RequestCap.open(1000, 8, next.tally, subject)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringContaining('besides the 3 its other calls'), issues: [expect.objectContaining({ path: 'fragments.f' })] });
    expect(await client.get(keys.requests(tally))).toBe('3');
  });

  it('gives back nothing into a count already deleted, and uses none when the cap is lifted or absent', async () => {
    const tally = randomUUID();
    const job = jobRequests(client, keys.requests, { requestCap: { max: 10, tally } });
    await RequestCap.open(1000, 5, job.tally, subject);
    await client.del(keys.requests(tally));
    expect(await job.settle()).toBe(5);
    expect(await client.exists(keys.requests(tally))).toBe(0);

    // A lifted cap: the coordinator sends no count's name (and a worker would use none anyway).
    const lifted = jobRequests(client, keys.requests, { requestCap: { max: Infinity } });
    expect(lifted.tally.shared).toBeUndefined();
    expect(jobRequests(client, keys.requests, { requestCap: { max: Infinity, tally } }).tally.shared).toBeUndefined();
    expect(RequestCap.open(Infinity, 5000, lifted.tally, subject)).toBeInstanceOf(RequestCap);
    // ... but its worker's own cap still holds, counted in the process.
    expect(() => RequestCap.open(4, 5000, lifted.tally, subject)).toThrow(/maxRequests=4/);
    // A job without a cap (an older coordinator): its worker's own, counted in the process.
    const old = jobRequests(client, keys.requests, { requests: 2 });
    expect(old.tally.shared).toBeUndefined();
    expect(() => RequestCap.open(4, 3, old.tally, subject)).toThrow(/besides the 2 its other calls.*maxRequests=4/);
    expect(await client.keys(`tributary:${queue}:*`)).toEqual([]);
  });
});
