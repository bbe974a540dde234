import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/io.js';
import { collectSecrets, createRedactor } from '../../src/cli/redact.js';
import { expandEnv, loadSourcesFile } from '../../src/cli/sources-file.js';
import type { ErrorIssue } from '../../src/errors.js';
import { demoPlan, demoSources, expectedDemoRows, runCli, tempDir, writeCrmDb } from './support.js';

const tmp = tempDir();
beforeAll(() => {
  mkdirSync(join(tmp.dir, 'data'));
  writeCrmDb(join(tmp.dir, 'data', 'crm.db'));
});
afterAll(() => tmp.remove());

async function issuesOf(promise: Promise<unknown>): Promise<ErrorIssue[]> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof InputError) return error.issues;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('expandEnv', () => {
  it('replaces ${VAR} in every string, nested, and keeps $${VAR} literal', () => {
    const issues: ErrorIssue[] = [];
    const out = expandEnv({ a: 'x-${A}-${B}', list: ['${A}', 3, null], lit: '$${A}' }, { A: '1', B: 'two' }, [], issues);
    expect(out).toEqual({ a: 'x-1-two', list: ['1', 3, null], lit: '${A}' });
    expect(issues).toEqual([]);
  });

  it('names each missing variable at its JSON path', () => {
    const issues: ErrorIssue[] = [];
    expandEnv({ shop: { url: 'postgres://${PGUSER}@db/${PGDB}' }, list: ['${X}'] }, { PGUSER: 'app' }, [], issues);
    expect(issues).toEqual([
      { path: 'shop.url', message: 'environment variable PGDB is not set' },
      { path: 'list[0]', message: 'environment variable X is not set' },
    ]);
  });
});

describe('redaction', () => {
  it('collects URL passwords, header values and credential-named fields, not data', () => {
    const secrets = collectSecrets({
      shop: { kind: 'postgres', url: 'postgres://app:s3cr%40t@db/shop' },
      api: { kind: 'http', baseUrl: 'https://api.example.com', headers: { authorization: 'Bearer tok-123456' } },
      my: { kind: 'mysql', host: 'db', password: 'hunter22' },
      ref: { kind: 'memory', tables: { t: [{ token: 'not-a-secret' }] } },
    });
    expect(secrets).toEqual(expect.arrayContaining(['s3cr%40t', 's3cr@t', 'Bearer tok-123456', 'tok-123456', 'hunter22']));
    expect(secrets).not.toContain('not-a-secret');
  });

  it('masks every secret and any URL password in a message', () => {
    const redact = createRedactor(['hunter22', 'tok-123456']);
    expect(redact('login failed with hunter22 and Bearer tok-123456')).toBe('login failed with *** and Bearer ***');
    expect(redact('cannot reach mysql://root:whatever@db:3306/x')).toBe('cannot reach mysql://root:***@db:3306/x');
  });
});

describe('loadSourcesFile', () => {
  it('resolves a relative sqlite file against the sources file folder', async () => {
    const file = tmp.file('relative.json', { crm: { kind: 'sqlite', file: 'data/crm.db', readonly: true } });
    const loaded = await loadSourcesFile(file, {});
    try {
      expect(loaded.describe()).toEqual([{ name: 'crm', kind: 'sqlite', location: join(tmp.dir, 'data', 'crm.db') }]);
      const rows = await loaded.sources.crm!.execute({ sql: 'SELECT count(*) AS n FROM customers' }, { params: [], signal: new AbortController().signal });
      expect(rows).toEqual([{ n: 4 }]);
    } finally {
      await loaded.close();
    }
  });

  it('lists every problem by JSON path: unknown kind, bad connector options, missing variables', async () => {
    const file = tmp.file('bad.json', {
      a: { kind: 'oracle' },
      b: { kind: 'sqlite', file: 'x.db', readonly: 'yes' },
      c: { kind: 'memory', tables: { t: [] }, typo: 1 },
    });
    const issues = await issuesOf(loadSourcesFile(file, {}));
    // An unknown kind hides nothing else in the file.
    expect(issues.map((i) => i.path)).toEqual(['a.kind', 'b.readonly', 'c.typo']);
    expect(issues[0]?.message).toMatch(/^unknown kind "oracle"; kind must be one of sqlite, postgres, mysql, http, memory$/);
    const mixed = tmp.file('mixed.json', { a: { kind: 'oracle' }, s: { kind: 'postgres', url: '${NO_SUCH_URL_VAR}' }, n: { file: 'x.db' }, z: 3 });
    expect(await issuesOf(loadSourcesFile(mixed, {}))).toEqual([
      { path: 's.url', message: 'environment variable NO_SUCH_URL_VAR is not set' },
      { path: 'a.kind', message: expect.stringMatching(/^unknown kind "oracle"/) as unknown as string },
      { path: 'n.kind', message: expect.stringMatching(/^kind is missing/) as unknown as string },
      { path: 'z', message: 'a source is an object: { "kind": …, …options }' },
    ]);
    const second = tmp.file('bad2.json', { b: { kind: 'sqlite', file: 'x.db', readonly: 'yes' }, c: { kind: 'memory', tables: { t: [] }, typo: 1 } });
    const paths = (await issuesOf(loadSourcesFile(second, {}))).map((i) => i.path);
    expect(paths).toContain('b.readonly');
    expect(paths.some((p) => p.startsWith('c'))).toBe(true);
    const missing = tmp.file('env.json', { s: { kind: 'postgres', url: 'postgres://app:${NO_SUCH_PASSWORD_VAR}@db/x' } });
    expect(await issuesOf(loadSourcesFile(missing, {}))).toEqual([{ path: 's.url', message: 'environment variable NO_SUCH_PASSWORD_VAR is not set' }]);
  });

  it('refuses a connector\'s remote: true at its path (the command line has no BullMQ workers), beside the file\'s other problems', async () => {
    const file = tmp.file('remote.json', { m: { kind: 'memory', tables: { t: [] }, remote: true }, c: { kind: 'memory', tables: { t: [] }, typo: 1 } });
    const issues = await issuesOf(loadSourcesFile(file, {}));
    expect(issues.map((i) => i.path)).toEqual(['m.remote', 'c.typo']);
    expect(issues[0]?.message).toMatch(/in-process.*no BullMQ workers/);
  });

  it('takes remote: true as written when only checking (validate, explain), and still checks its value', async () => {
    const file = tmp.file('remote-check.json', { m: { kind: 'memory', tables: { t: [] }, remote: true } });
    const loaded = await loadSourcesFile(file, {}, 'check');
    expect(loaded.sources.m?.remote).toBe(true);
    expect(loaded.describe()).toEqual([{ name: 'm', kind: 'memory', location: 'tables: t (remote)' }]);
    await loaded.close();
    const bad = tmp.file('remote-bad.json', { m: { kind: 'memory', tables: { t: [] }, remote: 'yes' } });
    expect((await issuesOf(loadSourcesFile(bad, {}, 'check'))).map((i) => i.path)).toEqual(['m.remote']);
  });

  it('is not JSON: one issue at the root', async () => {
    const issues = await issuesOf(loadSourcesFile(tmp.file('notjson.json', '{ nope'), {}));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('(root)');
  });
});

describe.concurrent('the command with a remote: true source', { timeout: 60_000 }, () => {
  const remoteSources = (): string => tmp.file('remote-sources.json', { ...(demoSources(join(tmp.dir, 'data', 'crm.db')) as Record<string, object>), shop: { kind: 'memory', tables: { orders: [] }, remote: true } });

  it('validate and explain accept it (they run nothing); validate lists it as remote', async ({ expect }) => {
    const plan = tmp.file('remote-plan.json', demoPlan);
    const sources = remoteSources();
    const validated = await runCli(['validate', plan, '-s', sources]);
    expect(validated.stderr).toBe('');
    expect(validated.code).toBe(0);
    expect(validated.stdout).toMatch(/source shop: memory tables: orders \(remote\)/);
    const explained = await runCli(['explain', plan, '-s', sources, '-p', 'segment=BUILDING']);
    expect(explained.stderr).toBe('');
    expect(explained.code).toBe(0);
    // EXPLAIN says where the source's calls would run, as validate does.
    expect(explained.stdout).toMatch(/^ {2}orders +shop \(memory, remote\) +table orders/m);
    expect(explained.stdout).toMatch(/^ {2}customers +crm \(sqlite\) /m);
  });

  it('run refuses it at <name>.remote, exit 2, nothing run', async ({ expect }) => {
    const out = await runCli(['run', tmp.file('remote-plan-run.json', demoPlan), '-s', remoteSources(), '-q', '-p', 'segment=BUILDING']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/shop\.remote/);
    expect(out.stdout).toBe('');
  });
});

describe.concurrent('the command with ${VAR} sources', { timeout: 60_000 }, () => {
  it('expands variables from the environment', async ({ expect }) => {
    const plan = tmp.file('plan.json', demoPlan);
    const sources = tmp.file('env-sources.json', { ...(demoSources() as object), crm: { kind: 'sqlite', file: '${CRM_DIR}/crm.db', readonly: true } });
    const out = await runCli(['run', plan, '-s', sources, '-f', 'json', '-q', '-p', 'segment=BUILDING'], { env: { CRM_DIR: join(tmp.dir, 'data') } });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(expectedDemoRows());
  });

  it('exits 2 naming a missing variable and where it is used', async ({ expect }) => {
    const plan = tmp.file('plan2.json', demoPlan);
    const sources = tmp.file('missing-sources.json', { crm: { kind: 'sqlite', file: '${TRIBUTARY_TEST_UNSET_DIR}/crm.db' } });
    const out = await runCli(['validate', plan, '-s', sources]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('crm.file: environment variable TRIBUTARY_TEST_UNSET_DIR is not set');
  });

  it('validate compiles against the SQLite file itself, not its path as printed with secrets masked', async ({ expect }) => {
    // The temp folder is /tmp/tributary-cli-…: a password "tributary" is masked inside the printed path.
    const plan = tmp.file('masked-path-plan.json', { fragments: [{ id: 'c', source: 'crm', query: { sql: 'SELECT id FROM customers' } }] });
    const sources = tmp.file('masked-path-sources.json', {
      crm: { kind: 'sqlite', file: 'data/crm.db', readonly: true },
      shop: { kind: 'postgres', url: 'postgres://app:tributary@127.0.0.1:9/shop' },
    });
    const out = await runCli(['validate', plan, '-s', sources]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/source crm: sqlite \S*\*\*\*-cli-\S+crm\.db/);
  });

  it('never prints a secret: URL passwords and header values are masked', async ({ expect }) => {
    const password = 'pw-Zq9!vX27';
    const token = 'tok-8f3a9c1e5b';
    const plan = tmp.file('pg-plan.json', { fragments: [{ id: 'orders', source: 'shop', query: { sql: 'SELECT 1' } }] });
    const sources = tmp.file('secret-sources.json', {
      shop: { kind: 'postgres', url: 'postgres://app:${PGPASS}@127.0.0.1:9/shop', connectionTimeoutMillis: 2000 },
      api: { kind: 'http', baseUrl: 'http://127.0.0.1:9', headers: { authorization: 'Bearer ${API_TOKEN}' } },
    });
    const env = { PGPASS: password, API_TOKEN: token };
    const validated = await runCli(['validate', plan, '-s', sources], { env });
    expect(validated.code).toBe(0);
    expect(validated.stdout).toContain('source shop: postgres postgres://app:***@127.0.0.1:9/shop');
    const ran = await runCli(['run', plan, '-s', sources], { env });
    expect(ran.code).toBe(1);
    for (const out of [validated, ran]) {
      for (const text of [out.stdout, out.stderr]) {
        expect(text).not.toContain(password);
        expect(text).not.toContain(token);
      }
    }
  });
});
