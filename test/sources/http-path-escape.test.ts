import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, httpSource, validatePlan, type Executor } from '../../src/index.js';
import { buildUrl } from '../../src/sources/http/request.js';
import { TributaryError } from '../../src/errors.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

/**
 * A plan's path is appended to the baseUrl, whose own path (`/api/v1`) is where the source
 * may read. The URL parser reads "\" as "/", drops tabs and line breaks and trims trailing
 * spaces, so each of these climbed out of it past the dot-segment check (to `/api/admin`, `/api/`).
 */
const climbing = ['/x\\..\\..\\admin', '/x/.\t./.\t./admin', '/x/.\n./..\r/admin', '/.. ', '/..\f'];

let server: TestHttpServer;
let executor: Executor;

beforeAll(async () => {
  server = await startHttpServer({ 'GET /api/admin': reply.json([{ secret: true }]), 'GET /api/': reply.json([{ secret: true }]) });
  executor = createExecutor({ sources: { api: httpSource({ baseUrl: `${server.url}/api/v1` }) }, cache: false, retry: { attempts: 1 } });
});
afterAll(async () => {
  await executor.close();
  await server.close();
});

const planOf = (path: string) => ({ fragments: [{ id: 'f', source: 'api', query: { path } }] });

describe('httpSource: a plan path never leaves the baseUrl path', () => {
  it.each(climbing)('refuses path %j with PLAN_INVALID at the path, sending nothing', async (path) => {
    const before = server.requests.length;
    let error: unknown;
    try {
      await executor.execute(planOf(path));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).toMatchObject({ code: 'PLAN_INVALID', issues: [{ path: 'fragments[0].query.path' }] });
    expect(server.requests.length).toBe(before);
  });

  it('validates the same plans as invalid without an executor', () => {
    const sources = new Map([['api', httpSource({ baseUrl: 'https://api.example/v1' })]]);
    for (const path of climbing) expect(() => validatePlan(planOf(path), { sources })).toThrow(/path may not contain/);
  });

  it('fails a request whose URL would resolve outside the baseUrl path, even built past validation', () => {
    const base = new URL('https://api.example/api/v1');
    for (const path of climbing) {
      expect(() => buildUrl(base, path, {}, {})).toThrow(expect.objectContaining({ code: 'FRAGMENT_FAILED', message: expect.stringContaining('leaves https://api.example/api/v1/') }));
    }
    expect(buildUrl(base, '/x/y', {}, {}).href).toBe('https://api.example/api/v1/x/y');
    expect(buildUrl(base, '/', {}, {}).href).toBe('https://api.example/api/v1/');
    expect(buildUrl(new URL('https://api.example'), '/a/b', {}, {}).href).toBe('https://api.example/a/b');
  });
});
