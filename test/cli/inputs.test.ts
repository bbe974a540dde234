import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { demoPlan, expectedDemoRows, runCli, tempDir, writeDemo, demoSources } from './support.js';

/** Issue 14's command-line edges: --param checks, validate's source checks, headers on zero rows. */
const tmp = tempDir();
let plan: string;
let sources: string;

beforeAll(() => ({ plan, sources } = writeDemo(tmp)));
afterAll(() => tmp.remove());

describe.concurrent('--param', { timeout: 60_000 }, () => {
  it('a missing --param exits 2 before anything runs, saying which one and where the plan uses it', async ({ expect }) => {
    const out = await runCli(['run', plan, '-s', sources]);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe(
      'tributary: invalid arguments\n  --param segment: missing: the plan uses { "$param": "segment" } at fragments[0].query.params[0]; pass --param segment=<value>\n',
    );
    expect(out.stderr).not.toMatch(/run\(\)|params: \{/); // no advice for library users
  });

  it('an unknown --param exits 2 and lists the parameters the plan has', async ({ expect }) => {
    const out = await runCli(['run', plan, '-s', sources, '-p', 'segment=BUILDING', '-p', 'segmnt=X']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(`--param segmnt: unknown: the plan has no { "$param": "segmnt" } (the plan's parameters are segment)`);
  });

  it('a malformed --param exits 2, and so does explain --analyze without the parameter', async ({ expect }) => {
    const bad = await runCli(['run', plan, '-s', sources, '-p', '=BUILDING']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--param[0]: "=BUILDING" is not name=value (e.g. --param region=EU)');
    const analyze = await runCli(['explain', plan, '-s', sources, '--analyze']);
    expect(analyze.code).toBe(2);
    expect(analyze.stderr).toContain('--param segment: missing');
  });
});

describe.concurrent('progress without a terminal', { timeout: 60_000 }, () => {
  it('ends with how every fragment settled', async ({ expect }) => {
    const p = tmp.file('lines-plan.json', {
      fragments: [
        { id: 'orders', source: 'shop', query: { table: 'orders' } },
        { id: 'broken', source: 'crm', query: { sql: 'SELECT * FROM no_such_table' } },
        { id: 'after', source: 'shop', dependsOn: ['broken'], query: { table: 'orders' } },
      ],
      merge: { op: 'union', inputs: ['orders', 'after'] },
    });
    const out = await runCli(['run', p, '-s', sources, '--partial', '-f', 'csv']);
    expect(out.code).toBe(3);
    expect(out.stderr).toMatch(/\] query partial: 5 rows in [\d.]+ ms \(fragments: 1 ok \(0 cached\), 1 failed, 1 skipped\)\n/);
  });
});

describe.concurrent('validate --sources', { timeout: 60_000 }, () => {
  it('checks memory tables without running anything', async ({ expect }) => {
    const p = tmp.file('memory-plan.json', {
      fragments: [
        { id: 'a', source: 'shop', query: { table: 'order' } },
        { id: 'b', source: 'shop', query: { table: 'orders', columns: ['id', 'note'] } },
      ],
      merge: { op: 'union', inputs: ['a', 'b'] },
    });
    const out = await runCli(['validate', p, '--sources', sources]);
    expect(out.code).toBe(2);
    // A projected column the rows lack is null by design: only the table is an error.
    expect(out.stderr.split('\n').slice(1, -1)).toEqual(['  fragments[0].query.table: no table "order" in this memory source (its tables: orders)']);
  });
});

describe.concurrent('validate --sources on SQLite', { timeout: 60_000 }, () => {
  it('compiles each statement against the file: syntax, tables, columns, placeholder count', async ({ expect }) => {
    const p = tmp.file('sqlite-plan.json', {
      fragments: [
        { id: 'a', source: 'crm', query: { sql: 'SELEC id FROM customers' } },
        { id: 'b', source: 'crm', query: { sql: 'SELECT id FROM customer' } },
        { id: 'c', source: 'crm', query: { sql: 'SELECT idd FROM customers' } },
        { id: 'd', source: 'crm', query: { sql: 'SELECT id FROM customers WHERE segment = ? AND region = ?', params: ['X'] } },
        { id: 'e', source: 'crm', query: { sql: 'SELECT id FROM customers WHERE segment = ?', params: [{ $param: 'segment' }] } },
      ],
      merge: { op: 'union', inputs: ['a', 'b', 'c', 'd', 'e'] },
    });
    const out = await runCli(['validate', p, '--sources', sources]);
    expect(out.code).toBe(2);
    expect(out.stderr.split('\n').slice(1, -1)).toEqual([
      '  fragments[0].query.sql: SQLite: near "SELEC": syntax error',
      '  fragments[1].query.sql: SQLite: no such table: customer',
      '  fragments[2].query.sql: SQLite: no such column: idd',
      '  fragments[3].query.sql: SQLite: Too few parameter values were provided',
    ]);
  });

  it('lists the parameters a valid plan needs', async ({ expect }) => {
    const out = await runCli(['validate', plan, '--sources', sources]);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('  parameters: segment (run with --param segment=…)');
  });

  it('a SQL source without a user to connect as is invalid input, named by its entry', async ({ expect }) => {
    const s = tmp.file('no-user.json', { ...(demoSources() as object), shop2: { kind: 'postgres', host: '127.0.0.1' }, cat: { kind: 'mysql', url: 'mysql://127.0.0.1/x' } });
    const out = await runCli(['validate', plan, '--sources', s], { env: { PGUSER: '', USER: '' } });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('  shop2.user: postgres source "shop2": no user name to connect as');
    expect(out.stderr).toContain('  cat.url: mysql source "cat": no user name to connect as; give one in the url (mysql://user@host/db) or in user');
  });
});

describe.concurrent('zero-row results', { timeout: 60_000 }, () => {
  const empty = (): string =>
    tmp.file(`empty-${Math.random().toString(36).slice(2)}.json`, {
      fragments: [
        { id: 'customers', source: 'crm', query: { sql: 'SELECT id, name FROM customers WHERE segment = ?', params: ['NONE'] } },
        { id: 'orders', source: 'shop', query: { table: 'orders', where: { gt: ['total', 1000] } } },
      ],
      merge: { op: 'join', type: 'left', left: 'customers', right: 'orders', on: [['id', 'customer_id']] },
    });

  it('CSV prints the header', async ({ expect }) => {
    const out = await runCli(['run', empty(), '-s', sources, '-f', 'csv', '-q']);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('id,name,orders.id,customer_id,total\r\n');
  });

  it('a table prints the header, its rule and (0 rows)', async ({ expect }) => {
    const out = await runCli(['run', empty(), '-s', sources, '-q']);
    expect(out.code).toBe(0);
    expect(out.stdout.split('\n')).toEqual(['id | name | orders.id | customer_id | total', '---+------+-----------+-------------+------', '(0 rows)', '']);
  });

  it('a memory table with no matching row still names its columns', async ({ expect }) => {
    const p = tmp.file('empty-memory.json', { fragments: [{ id: 'o', source: 'shop', query: { table: 'orders', columns: ['total', 'id'], where: { lt: ['total', 0] } } }] });
    const out = await runCli(['run', p, '-s', sources, '-f', 'csv', '-q']);
    expect(out.stdout).toBe('total,id\r\n');
  });
});

describe.concurrent('files saved with a UTF-8 byte order mark (Notepad, PowerShell)', { timeout: 60_000 }, () => {
  it('reads a plan, a plan on stdin, a sources file and a recording that start with one', async ({ expect }) => {
    const bom = '\uFEFF';
    const p = tmp.file('bom-plan.json', bom + JSON.stringify(demoPlan));
    const s = tmp.file('bom-sources.json', bom + JSON.stringify(demoSources()));
    const rec = `${tmp.dir}/bom.rec.json`;
    const fromFiles = await runCli(['run', p, '-s', s, '-p', 'segment=BUILDING', '-f', 'json', '-q', '--record', rec]);
    expect(fromFiles.stderr).toBe('');
    expect(fromFiles.code).toBe(0);
    expect(JSON.parse(fromFiles.stdout)).toEqual(expectedDemoRows());
    const fromStdin = await runCli(['validate', '-', '-s', s], { input: bom + JSON.stringify(demoPlan) });
    expect(fromStdin.stderr).toBe('');
    expect(fromStdin.code).toBe(0);
    const replayed = await runCli(['replay', tmp.file('bom-replay.json', bom + readFileSync(rec, 'utf8')), '-f', 'json', '-q']);
    expect(replayed.stderr).toBe('');
    expect(JSON.parse(replayed.stdout)).toEqual(expectedDemoRows());
  });

  it('reads UTF-16 files with their byte order mark (PowerShell 5 `>` writes UTF-16LE)', async ({ expect }) => {
    const utf16le = (text: string): Buffer => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const utf16be = (text: string): Buffer => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    const p = join(tmp.dir, 'utf16le-plan.json');
    const s = join(tmp.dir, 'utf16be-sources.json');
    writeFileSync(p, utf16le(JSON.stringify(demoPlan)));
    writeFileSync(s, utf16be(JSON.stringify(demoSources())));
    const out = await runCli(['run', p, '-s', s, '-p', 'segment=BUILDING', '-f', 'json', '-q']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(expectedDemoRows());
  });
});
