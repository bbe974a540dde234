import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { jobRequests, reclaimJobRequests, REQUEST_COUNT_TTL_MS } from '../../src/remote/job-requests.js';
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
    const a = jobRequests(client, keys.requests, randomUUID(), { requests: 3, requestCap: { max: 10, tally } });
    const b = jobRequests(client, keys.requests, randomUUID(), { requests: 0, requestCap: { max: 10, tally } });
    // The count starts at what the fragment had sent (3): a's 5 fit, b's 3 then do not.
    expect(await a.tally.shared!.reserve(5, 10, false)).toEqual({ fits: true, before: 3 });
    expect(await b.tally.shared!.reserve(3, 10, false)).toEqual({ fits: false, before: 8 });
    expect(await b.tally.shared!.reserve(2, 10, false)).toEqual({ fits: true, before: 8 });
    expect(await client.hget(keys.requests(tally), 'n')).toBe('10');
    const ttl = await client.pttl(keys.requests(tally));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(REQUEST_COUNT_TTL_MS);
  });

  it("holds the call to the smaller of the job's cap and the connector's own, and gives back what it did not send", async () => {
    const tally = randomUUID();
    // The connector's own cap (4) is smaller than the list (6): it refuses, nothing reserved.
    const refused = jobRequests(client, keys.requests, randomUUID(), { requests: 0, requestCap: { max: 10, tally } });
    await expect(RequestCap.open(4, 6, refused.tally, subject)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringContaining('maxRequests=4') });
    expect(await client.hget(keys.requests(tally), 'n')).toBeNull();
    const job = jobRequests(client, keys.requests, randomUUID(), { requests: 0, requestCap: { max: 10, tally } });
    // The connector's own cap (1000) is larger: the job's (10) decides.
    const opened = RequestCap.open(1000, 6, job.tally, subject);
    expect(opened).toBeInstanceOf(Promise);
    const cap = await opened;
    // A listed request was reserved with its list: it is only recorded as sent.
    await cap.send(true);
    await cap.send(true);
    await cap.send(false); // a page: reserved on its own
    cap.end();
    expect(await client.hget(keys.requests(tally), 'n')).toBe('7');
    // 6 listed and a page reserved, 3 sent: 4 given back.
    expect(await job.settle()).toEqual({ requests: 3, shared: true });
    expect(await client.hget(keys.requests(tally), 'n')).toBe('3');
    // Past the job's cap: LIMIT_EXCEEDED at the fragment, nothing reserved.
    const next = jobRequests(client, keys.requests, randomUUID(), { requests: 3, requestCap: { max: 10, tally } });
    await expect(RequestCap.open(1000, 8, next.tally, subject)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringContaining('besides the 3 its other calls'), issues: [expect.objectContaining({ path: 'fragments.f' })] });
    expect(await client.hget(keys.requests(tally), 'n')).toBe('3');
  });

  it("gives back nothing into a count already deleted, uses none under caps lifted on both sides, and shares the worker's own under a lifted one", async () => {
    const tally = randomUUID();
    const job = jobRequests(client, keys.requests, randomUUID(), { requestCap: { max: 10, tally } });
    await RequestCap.open(1000, 5, job.tally, subject);
    await client.del(keys.requests(tally));
    expect(await job.settle()).toEqual({ requests: 5, shared: true });
    expect(await client.exists(keys.requests(tally))).toBe(0);

    // A cap lifted by the coordinator and by the connector: counted in the process, no Redis command.
    const liftedTally = randomUUID();
    const lifted = jobRequests(client, keys.requests, randomUUID(), { requestCap: { max: Infinity, tally: liftedTally } });
    const open = RequestCap.open(Infinity, 5000, lifted.tally, subject);
    expect(open).toBeInstanceOf(RequestCap);
    expect((open as RequestCap).send(true)).toBeUndefined();
    (open as RequestCap).end();
    expect(await lifted.settle()).toEqual({ requests: 1 });
    expect(await client.exists(keys.requests(liftedTally))).toBe(0);
    // Lifted by the coordinator only: the connector's own cap holds over the fragment's count.
    const a = jobRequests(client, keys.requests, randomUUID(), { requestCap: { max: Infinity, tally: liftedTally } });
    const b = jobRequests(client, keys.requests, randomUUID(), { requestCap: { max: Infinity, tally: liftedTally } });
    const sending = await RequestCap.open(4, 3, a.tally, subject);
    for (let i = 0; i < 3; i++) await sending.send(true);
    sending.end();
    await expect(RequestCap.open(4, 2, b.tally, subject)).rejects.toThrow(/besides the 3 its other calls.*maxRequests=4/);
    expect(await a.settle()).toEqual({ requests: 3, shared: true });
    expect(await b.settle()).toEqual({});
    await client.del(keys.requests(liftedTally));
    // A job without a cap (an older coordinator): its worker's own, counted in the process.
    const old = jobRequests(client, keys.requests, randomUUID(), { requests: 2 });
    expect(old.tally.shared).toBeUndefined();
    expect(() => RequestCap.open(4, 3, old.tally, subject)).toThrow(/besides the 2 its other calls.*maxRequests=4/);
    expect(await client.keys(`tributary:${queue}:*`)).toEqual([]);
  });

  it("ends a dead worker's job in the count: its unsent reservation goes back, what it sent stays, and it reserves nothing more", async () => {
    const tally = randomUUID();
    const key = keys.requests(tally);
    const jobId = randomUUID();
    const job = jobRequests(client, keys.requests, jobId, { requests: 1, requestCap: { max: 10, tally } });
    const other = jobRequests(client, keys.requests, randomUUID(), { requests: 1, requestCap: { max: 10, tally } });
    // A list of 5 (2 of them sent) and a page: 6 reserved, 3 sent, from the seed of 1.
    const cap = await RequestCap.open(1000, 5, job.tally, subject);
    await cap.send(true);
    await cap.send(true);
    await cap.send(false);
    await other.tally.shared!.reserve(2, 10, true);
    expect(await client.hget(key, 'n')).toBe('9');
    // Its worker is gone: the coordinator ends the job, and learns what it sent.
    expect(await reclaimJobRequests(client, key, jobId)).toBe(3);
    expect(await client.hget(key, 'n')).toBe('6');
    // Ended twice, or by its worker come back: nothing more is given back.
    expect(await reclaimJobRequests(client, key, jobId)).toBe(3);
    // Its worker, hung rather than dead, comes back: its calls reserve and send nothing more.
    await expect(cap.send(true)).rejects.toMatchObject({ code: 'CANCELLED', message: expect.stringContaining(`job ${jobId} has ended`) });
    await expect(job.tally.shared!.reserve(1, 10, true)).rejects.toMatchObject({ code: 'CANCELLED' });
    cap.end();
    expect(await job.settle()).toEqual({ requests: 3, shared: true });
    expect(await client.hget(key, 'n')).toBe('6');
    // The other job still reserves what is left.
    expect(await other.tally.shared!.reserve(4, 10, true)).toEqual({ fits: true, before: 6 });
    // A count already gone stays gone.
    await client.del(key);
    expect(await reclaimJobRequests(client, key, randomUUID())).toBe(0);
    expect(await client.exists(key)).toBe(0);
  });

  it("refuses a job's calls once its count is gone: ended by the coordinator (its worker hung, not dead), then deleted with the fragment's last job", async () => {
    const tally = randomUUID();
    const key = keys.requests(tally);
    const jobId = randomUUID();
    const job = jobRequests(client, keys.requests, jobId, { requestCap: { max: 10, tally } });
    const cap = await RequestCap.open(1000, 3, job.tally, subject);
    await cap.send(true);
    expect(await reclaimJobRequests(client, key, jobId)).toBe(1);
    // No job of the fragment is out any more: the coordinator deletes its count (tally-keys.ts).
    await client.del(key);
    // The worker comes back: what it still had to send is not sent, and no count is made again.
    await expect(cap.send(true)).rejects.toMatchObject({ code: 'CANCELLED', message: expect.stringContaining(`job ${jobId} has ended`) });
    await expect(job.tally.shared!.reserve(1, 10, true)).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await client.exists(key)).toBe(0);
    cap.end();
    expect(await job.settle()).toEqual({ requests: 1, shared: true });
    expect(await client.exists(key)).toBe(0);
  });

  it("refuses what a job's calls reserve once the job has ended", async () => {
    const tally = randomUUID();
    const job = jobRequests(client, keys.requests, randomUUID(), { requestCap: { max: 10, tally } });
    const cap = await RequestCap.open(1000, 2, job.tally, subject);
    await cap.send(true);
    cap.end();
    const settled = job.settle();
    // Made once the job's end has begun (its give-back under way, or done): refused, nothing reserved.
    await expect(cap.send(false)).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(RequestCap.open(1000, 1, job.tally, subject)).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await settled).toEqual({ requests: 1, shared: true });
    await expect(cap.send(false)).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await client.hget(keys.requests(tally), 'n')).toBe('1');
    expect(job.tally.requests).toBe(1);
  });
});
