import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, httpSource, type Executor } from '../../src/index.js';
import { TributaryError } from '../../src/errors.js';
import { reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

/**
 * A plan's `searchParams`, `pathParams` and `headers` named `__proto__` (own keys, as
 * JSON.parse makes them) are checked and sent like any other name. zod's record skipped such
 * a key: its value went unchecked (an object or a CRLF header value failed only when sent)
 * and a `{__proto__}` path placeholder was told it had no value.
 */
let server: TestHttpServer;
let executor: Executor;

beforeAll(async () => {
  server = await startHttpServer({
    'GET /items/:id': reply.dynamic((req) => [{ id: req.params.id, q: req.url.search, h: req.headers['x-h'] ?? null }]),
    'GET /items': reply.dynamic((req) => [{ q: req.url.search }]),
  });
  executor = createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) }, cache: false, retry: { attempts: 1 } });
});
afterAll(async () => {
  await executor.close();
  await server.close();
});

/** The plan with `query` parsed from JSON text, so `__proto__` is an own key. */
const planOf = (query: string) => ({ fragments: [{ id: 'f', source: 'api', query: JSON.parse(query) as unknown }] });

async function issuesOf(query: string): Promise<unknown> {
  try {
    await executor.execute(planOf(query));
  } catch (error) {
    if (error instanceof TributaryError && error.code === 'PLAN_INVALID') return error.issues;
    throw error;
  }
  throw new Error('the plan was not refused');
}

describe('httpSource: a __proto__ key is a name like any other', () => {
  it.each(['__proto__', 'constructor', 'name'])('sends path and search param %s', async (name) => {
    const result = await executor.execute(planOf(`{ "path": "/items/{${name}}", "pathParams": { "${name}": "7" }, "searchParams": { "${name}": "s", "b": "2" } }`));
    expect(result.errors).toEqual([]);
    expect(result.rows).toEqual([{ id: '7', q: `?${name}=s&b=2`, h: null }]);
  });

  it.each(['__proto__', 'other'])('refuses a bad %s value at its own path, as for any name', async (name) => {
    const cases: [string, string][] = [
      [`{ "path": "/items", "searchParams": { "${name}": { "nested": 1 } } }`, `fragments[0].query.searchParams.${name}`],
      [`{ "path": "/items/{${name}}", "pathParams": { "${name}": [[1]] } }`, `fragments[0].query.pathParams.${name}`],
      [`{ "path": "/items", "headers": { "${name}": "v\\r\\nx-evil: 1" } }`, `fragments[0].query.headers.${name}`],
    ];
    for (const [query, path] of cases) {
      const issues = (await issuesOf(query)) as { path: string }[];
      expect(issues[0]?.path.startsWith(path)).toBe(true);
    }
  });

  it('gives the same issues for __proto__ as for another name', async () => {
    for (const template of [
      '{ "path": "/items", "searchParams": { "NAME": { "nested": 1 } } }',
      '{ "path": "/items", "headers": { "NAME": "v\\u0001" } }',
      '{ "path": "/items/{NAME}", "pathParams": { "NAME": { "$from": 1 } } }',
    ]) {
      const proto = JSON.stringify(await issuesOf(template.replaceAll('NAME', '__proto__')));
      const other = JSON.stringify(await issuesOf(template.replaceAll('NAME', 'zz')));
      expect(proto.replaceAll('__proto__', 'zz')).toBe(other);
    }
  });
});
