import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, sqliteSource, TributaryError, type Executor } from '../../src/index.js';
import { leadingKeyword } from '../../src/sources/sqlite/statements.js';

/**
 * A plan's SQL runs against the source's own database file. ATTACH read any other SQLite
 * file the process could (SQLite counts it read-only, so `readonly: true` let it through),
 * and stayed attached to the shared connection for every later run; VACUUM INTO wrote a
 * copy of the database to any path, from a read-only connection too.
 */
let dir: string;
let executor: Executor;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-sqlite-files-'));
  const app = new Database(path.join(dir, 'app.db'));
  app.exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)');
  app.close();
  const secret = new Database(path.join(dir, 'secret.db'));
  secret.exec("CREATE TABLE secrets (v TEXT); INSERT INTO secrets VALUES ('TOPSECRET')");
  secret.close();
  const file = path.join(dir, 'app.db');
  executor = createExecutor({
    sources: { db: sqliteSource({ file, readonly: true }), rw: sqliteSource({ file }), threaded: sqliteSource({ file, readonly: true, thread: true }) },
    cache: false,
    retry: { attempts: 1 },
  });
});
afterAll(async () => {
  await executor.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const plan = (source: string, sql: string) => ({ fragments: [{ id: 'f', source, query: { sql } }] });

describe('sqliteSource: statements that reach past the database file are refused', () => {
  const secret = () => path.join(dir, 'secret.db');
  const statements = () => [
    `ATTACH DATABASE '${secret()}' AS s`,
    `  /* a comment */ -- and another\n ;attach '${secret()}' as s`,
    'DETACH DATABASE s',
    `VACUUM INTO '${path.join(dir, 'copy.db')}'`,
    'vacuum',
  ];

  it.each(['db', 'rw', 'threaded'])('refuses ATTACH, DETACH and VACUUM on %s with PLAN_INVALID at the sql', async (source) => {
    for (const sql of statements()) {
      let error: unknown;
      try {
        await executor.execute(plan(source, sql));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TributaryError);
      expect(error).toMatchObject({ code: 'PLAN_INVALID', issues: [{ path: 'fragments[0].query.sql', message: expect.stringMatching(/^(ATTACH|DETACH|VACUUM) is not allowed on an SQLite source/) }] });
    }
    expect(fs.existsSync(path.join(dir, 'copy.db'))).toBe(false);
    // Nothing was attached: the other file stays out of reach.
    const result = await executor.execute(plan(source, 'SELECT v FROM s.secrets'));
    expect(result.status).toBe('failed');
    expect(JSON.stringify(result)).not.toContain('TOPSECRET');
  });

  it('fails such a statement unsent when the source is called without validation', async () => {
    const source = sqliteSource({ file: path.join(dir, 'app.db'), readonly: true });
    try {
      const call = Promise.resolve(source.execute({ sql: `ATTACH '${secret()}' AS s` }, { params: [], signal: new AbortController().signal, fragmentId: 'f' }));
      await expect(call).rejects.toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false });
    } finally {
      await source.close?.();
    }
  });

  it('still runs reads that merely mention the words', async () => {
    const rows = (await executor.execute(plan('db', "SELECT x AS attach, 'VACUUM INTO' AS v FROM t"))).rows;
    expect(rows).toEqual([{ attach: 1, v: 'VACUUM INTO' }]);
    expect(leadingKeyword('WITH a AS (SELECT 1) SELECT * FROM a')).toBe('WITH');
    expect(leadingKeyword('/* unterminated')).toBeUndefined();
  });
});
