import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, mysqlSource, postgresSource, type ExecutionEvent, type SourceExecutor } from '../../src/index.js';
import { describeWithServer, mysqlAdmin, requireServer, scratchTables } from '../support/servers.js';

/**
 * A bound value is masked out of the errors that fan out in every printed form, its case folds
 * included (`lower(email)` echoes `Ann@X.org` as `ann@x.org`). A fold that is, in that very
 * case, a keyword or identifier of the call's own statement is the statement's word, not an
 * echo: a value `from` must not blank out the `FROM` of `syntax error at or near "FROM"`.
 * Unless the statement folds a value itself (`upper($1)`): then every fold stays masked.
 */
const [postgres, mysql] = await Promise.all([requireServer('postgres'), requireServer('mysql')]);

/** Runs `sql` with the run param `v` on `source`: the error the caller gets, and the one events$ carried. */
async function failure(source: SourceExecutor, sql: string, v: unknown): Promise<{ own: string; shown: string }> {
  const executor = createExecutor({ sources: { s: source }, cache: false, retry: { attempts: 1 } });
  const events: ExecutionEvent[] = [];
  executor.events$.subscribe((e) => events.push(e));
  try {
    const result = await executor.execute({ fragments: [{ id: 'f', source: 's', query: { sql, params: [{ $param: 'v' }] } }] }, { params: { v } });
    const failed = events.find((e) => e.type === 'fragment.failed');
    expect(result.status).toBe('failed');
    return { own: result.errors[0]!.message, shown: failed?.type === 'fragment.failed' ? failed.error.message : 'no fragment.failed' };
  } finally {
    await executor.close();
  }
}

describeWithServer(postgres, 'PostgreSQL: a case-folded value in an error message', () => {
  const pg = () => postgresSource({ url: postgres.url });

  it("leaves the statement's keyword that a value's fold matches", async () => {
    const { own, shown } = await failure(pg(), 'SELECT $1::text AS x FROM FROM', 'from');
    expect(own).toContain('syntax error at or near "FROM"');
    expect(shown).toContain('syntax error at or near "FROM"');
  });

  it('masks a value the statement folds itself, even where the fold is a word of the statement', async () => {
    const { own, shown } = await failure(pg(), 'SELECT upper($1)::int AS x FROM (VALUES (1)) AS v', 'From');
    expect(own).toContain('invalid input syntax for type integer: "FROM"');
    expect(shown).toContain('invalid input syntax for type integer: "[param]"');
    expect(shown).not.toMatch(/"FROM"|"From"/);
  });

  it('masks a fold that is no word of the statement', async () => {
    const { own, shown } = await failure(pg(), 'SELECT lower($1)::int AS x', 'Ann.Secret@Example.COM');
    expect(own).toContain('"ann.secret@example.com"');
    expect(shown).toContain('invalid input syntax for type integer: "[param]"');
  });
});

describeWithServer(mysql, 'MariaDB: a case-folded value in an error message', () => {
  let admin: Awaited<ReturnType<typeof mysqlAdmin>>;
  let tables: ReturnType<typeof scratchTables>;
  beforeAll(async () => {
    admin = await mysqlAdmin(mysql.url);
    tables = scratchTables(admin);
  });
  afterAll(() => tables.dropAll());
  const my = () => mysqlSource({ url: mysql.url });

  it("leaves the statement's keyword that a value's fold matches", async () => {
    const { own, shown } = await failure(my(), 'SELECT ? AS x FROM FROM', 'from');
    expect(own).toContain("near 'FROM'");
    expect(shown).toContain("near 'FROM'");
  });

  it('masks a value a folding index echoes, the statement not folding it', async () => {
    const table = tables.name('folds');
    await admin.exec(`CREATE TABLE ${table} (v varchar(64), lv varchar(64) AS (lower(v)) PERSISTENT, UNIQUE KEY lv (lv))`);
    await admin.exec(`INSERT INTO ${table} (v) VALUES ('Secret')`);
    const { own, shown } = await failure(my(), `INSERT INTO ${table} (v) VALUES (?)`, 'SECRET');
    expect(own).toContain("Duplicate entry 'secret'");
    expect(shown).toContain("Duplicate entry '[param]'");
  });
});
