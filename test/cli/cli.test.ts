import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { demoPlan, expectedDemoRows, parseCsv, runCli, tempDir, writeDemo } from './support.js';

const tmp = tempDir();
let plan: string;
let sources: string;

beforeAll(() => ({ plan, sources } = writeDemo(tmp)));
afterAll(() => tmp.remove());

const run = (...args: string[]) => runCli(['run', plan, '--sources', sources, '--param', 'segment=BUILDING', ...args]);

describe.concurrent('tributary run', { timeout: 60_000 }, () => {
  const expected = expectedDemoRows();

  it('prints the rows as JSON', async ({ expect }) => {
    const out = await run('--format', 'json');
    expect(out.stderr).toContain('query ok');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(expected);
  });

  it('prints the rows as NDJSON, one object per line', async ({ expect }) => {
    const out = await run('--format', 'ndjson', '--quiet');
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('');
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(expected);
  });

  it('prints the rows as RFC 4180 CSV, quoting commas, quotes and newlines', async ({ expect }) => {
    const out = await run('--format', 'csv', '-q');
    expect(out.code).toBe(0);
    const [header, ...rows] = parseCsv(out.stdout);
    expect(header).toEqual(['id', 'name', 'orders', 'total']);
    expect(rows).toEqual(expected.map((r) => [String(r.id), r.name, String(r.orders), String(r.total)]));
    expect(out.stdout).toContain('"Ann, ""the first"""');
  });

  it('prints the rows as a table by default', async ({ expect }) => {
    const out = await run('-q');
    expect(out.code).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id \| name\s+\| orders \| total$/);
    expect(lines.at(-1)).toBe(`(${expected.length} rows)`);
    for (const r of expected) expect(out.stdout).toContain(r.name.replace('\n', '\\n'));
  });

  it('parses --param values as JSON when they are JSON, else keeps the string', async ({ expect }) => {
    const p = tmp.file('param-plan.json', {
      fragments: [{ id: 'orders', source: 'shop', query: { table: 'orders', where: { and: [{ ge: ['total', { $param: 'min' }] }, { in: ['id', { $param: 'ids' }] }] } } }],
    });
    const out = await runCli(['run', p, '-s', sources, '-f', 'json', '-q', '--param', 'min=21', '--param', 'ids=[10,11,12,13]']);
    expect(out.code).toBe(0);
    expect((JSON.parse(out.stdout) as { id: number }[]).map((r) => r.id)).toEqual([10, 11, 13]);
  });

  it('binds a --param integer beyond 2^53 exactly: the row with that key, not its nearest double', async ({ expect }) => {
    const db = new Database(join(tmp.dir, 'big.db'));
    db.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT)');
    db.exec("INSERT INTO big VALUES (9007199254740992, 'two^53'), (9007199254740993, 'two^53+1')");
    db.close();
    const s = tmp.file('big-sources.json', { big: { kind: 'sqlite', file: 'big.db' } });
    const p = tmp.file('big-plan.json', { fragments: [{ id: 'f', source: 'big', query: { sql: 'SELECT label FROM big WHERE id IN (SELECT value FROM json_each(?))', params: [{ $param: 'ids' }] } }] });
    const out = await runCli(['run', p, '-s', s, '-f', 'json', '-q', '--param', 'ids=[9007199254740993]']);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual([{ label: 'two^53+1' }]);
  });

  it('keeps integers beyond 2^53 exact in the plan file and in a memory table of the sources file', async ({ expect }) => {
    const db = new Database(join(tmp.dir, 'big2.db'));
    db.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT)');
    db.exec("INSERT INTO big VALUES (9007199254740992, 'two^53'), (9007199254740993, 'two^53+1')");
    db.close();
    // Written as JSON text: JSON.stringify of a JS number could not spell these.
    const s = tmp.file('big2-sources.json', '{ "big": { "kind": "sqlite", "file": "big2.db" }, "ref": { "kind": "memory", "tables": { "t": [{ "id": 9007199254740993 }] } } }');
    const p = tmp.file('big2-plan.json', `{ "fragments": [
      { "id": "f", "source": "big", "query": { "sql": "SELECT id, label FROM big WHERE id = ?", "params": [9007199254740993] } },
      { "id": "r", "source": "ref", "query": { "table": "t" } } ],
      "merge": { "op": "join", "type": "inner", "left": "f", "right": "r", "on": [["id", "id"]] } }`);
    const out = await runCli(['run', p, '-s', s, '-f', 'json', '-q']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual([{ id: '9007199254740993', label: 'two^53+1', 'r.id': '9007199254740993' }]);
  });

  it('reports a plan nested 100,000 deep by its nesting, not as "not JSON"', async ({ expect }) => {
    const depth = 100_000;
    const p = tmp.file('deep-plan.json', `{ "fragments": ${'['.repeat(depth)}${']'.repeat(depth)} }`);
    const out = await runCli(['validate', p]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('(root): the plan nests deeper than 128 levels');
  });

  it('prints a table of 200,000 rows (column widths without one argument per row)', async ({ expect }) => {
    const p = tmp.file('many-plan.json', {
      fragments: [{ id: 'f', source: 'crm', query: { sql: 'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 200000) SELECT n FROM c' } }],
    });
    const out = await runCli(['run', p, '-s', sources, '-q']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 3)).toEqual(['     n', '------', '     1']);
    expect(lines.slice(-2)).toEqual(['200000', '(200000 rows)']);
  });

  it('exits 1 and names the fragment when a query fails (fail-fast)', async ({ expect }) => {
    const p = tmp.file('failing-plan.json', {
      fragments: [
        { id: 'good', source: 'shop', query: { table: 'orders' } },
        { id: 'broken', source: 'crm', query: { sql: 'SELECT * FROM no_such_table' } },
      ],
      merge: { op: 'union', inputs: ['good', 'broken'] },
    });
    const out = await runCli(['run', p, '-s', sources, '-f', 'json']);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain('the query failed');
    // One prefix: the fragment, the source's name in the sources file, the attempt; then the driver's words.
    expect(out.stderr).toMatch(/^ {2}FRAGMENT_FAILED: fragment "broken" on source "crm" failed \(attempt 1\): SQLite rejected the query \(SQLITE_ERROR\): no such table: no_such_table/m);
    const line = out.stderr.split('\n').find((l) => l.startsWith('  FRAGMENT_FAILED'));
    expect(line?.match(/fragment|source/g)).toHaveLength(2);
  });

  it('exits 3 with --partial and still prints the rows that could be computed', async ({ expect }) => {
    const p = tmp.file('partial-plan.json', {
      fragments: [
        { id: 'good', source: 'shop', query: { table: 'orders', columns: ['id'] } },
        { id: 'broken', source: 'crm', query: { sql: 'SELECT * FROM no_such_table' } },
      ],
      merge: { op: 'union', inputs: ['good', 'broken'] },
    });
    const out = await runCli(['run', p, '-s', sources, '-f', 'ndjson', '--partial']);
    expect(out.code).toBe(3);
    expect(out.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([{ id: 10 }, { id: 11 }, { id: 12 }, { id: 13 }, { id: 14 }]);
    expect(out.stderr).toContain('partial result');
    expect(out.stderr).toContain('fragment "broken" on source "crm" failed');
  });

  it('reads the plan from standard input with "-"', async ({ expect }) => {
    const out = await runCli(['run', '-', '-s', sources, '-f', 'json', '-q', '-p', 'segment=MACHINERY'], { input: JSON.stringify(demoPlan) });
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(expectedDemoRows('MACHINERY'));
  });

  it('exits 2 on bad arguments: an unknown format, a missing --sources, a bad --param', async ({ expect }) => {
    const badFormat = await runCli(['run', plan, '-s', sources, '-f', 'xml']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('xml');
    const noSources = await runCli(['run', plan]);
    expect(noSources.code).toBe(2);
    expect(noSources.stderr).toContain('--sources');
    const badParam = await runCli(['run', plan, '-s', sources, '-p', 'novalue']);
    expect(badParam.code).toBe(2);
    expect(badParam.stderr).toContain('--param[0]: "novalue" is not name=value');
  });

  it('exits 2 when the plan file is missing or not JSON', async ({ expect }) => {
    const missing = await runCli(['run', join(tmp.dir, 'nope.json'), '-s', sources]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read plan');
    const notJson = await runCli(['run', tmp.file('bad.json', '{ "fragments": ['), '-s', sources]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/\(root\): not JSON/);
  });
});

describe.concurrent('tributary validate', { timeout: 60_000 }, () => {
  it('exits 2 and names each bad path of a broken plan, one per line', async ({ expect }) => {
    const broken = tmp.file('broken.json', {
      fragments: [
        { id: 'a', source: 'shop', query: { table: 'orders' } },
        { id: 'b', source: 'shop', dependsOn: ['nope'], query: { table: 'orders' } },
        { id: 'a', source: 'shop', query: { table: 'orders' } },
        { id: 'c', source: 'crm', query: { sql: 'SELECT ?', params: [{ $from: 'a', column: 'id' }] } },
      ],
    });
    const out = await runCli(['validate', broken]);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    const lines = out.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`tributary: invalid plan ${broken}`);
    const paths = lines.slice(1).map((l) => l.trim().split(': ')[0]);
    expect(paths).toEqual(expect.arrayContaining(['fragments[1].dependsOn[0]', 'fragments[2].id', 'fragments[3].query.params[0].$from']));
  });

  it('lists a schema error and the graph errors of the same plan at once', async ({ expect }) => {
    const broken = tmp.file('schema-and-graph.json', {
      fragments: [
        { id: 'a', source: 'shop', query: { table: 'orders' } },
        { id: 'a', source: 'shop', query: { table: 'orders' } },
        { id: 'b', source: 'shop', dependsOn: ['nope'], query: { table: 'orders' } },
      ],
      merge: { op: 'join', type: 'full', left: 'a', right: 'b', on: [['id', 'id']] },
    });
    const out = await runCli(['validate', broken]);
    expect(out.code).toBe(2);
    const paths = out.stderr.trimEnd().split('\n').slice(1).map((l) => l.trim().split(': ')[0]);
    expect(paths).toEqual(['merge.type', 'fragments[1].id', 'fragments[2].dependsOn[0]']);
  });

  it('reports schema errors by JSON path', async ({ expect }) => {
    const broken = tmp.file('schema-broken.json', { fragments: [{ id: '1bad', source: 'shop', query: {} }], errorPolicy: 'sometimes', extra: true });
    const out = await runCli(['validate', broken]);
    expect(out.code).toBe(2);
    for (const path of ['fragments[0].id', 'errorPolicy']) expect(out.stderr).toMatch(new RegExp(`^  ${path.replace(/[[\].]/g, '\\$&')}: `, 'm'));
  });

  it('checks native queries and source names against --sources', async ({ expect }) => {
    const p = tmp.file('query-broken.json', {
      fragments: [
        { id: 'a', source: 'shop', query: { sql: 'SELECT 1' } },
        { id: 'b', source: 'nowhere', query: { table: 'orders' } },
      ],
      merge: { op: 'union', inputs: ['a', 'b'] },
    });
    const out = await runCli(['validate', p, '--sources', sources]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/^ {2}fragments\[0\]\.query/m);
    expect(out.stderr).toMatch(/^ {2}fragments\[1\]\.source: unknown source "nowhere"/m);
  });

  it('exits 0 on a valid plan and lists the sources', async ({ expect }) => {
    const out = await runCli(['validate', plan, '-s', sources]);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('plan cli-demo is valid: 2 fragments in 2 levels');
    expect(out.stdout).toContain(`source crm: sqlite ${join(tmp.dir, 'crm.db')}`);
  });
});

describe.concurrent('tributary explain', { timeout: 60_000 }, () => {
  it('prints a Mermaid flowchart whose nodes are the fragments', async ({ expect }) => {
    const out = await runCli(['explain', plan, '--format', 'mermaid', '-p', 'segment=BUILDING']);
    expect(out.code).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('flowchart TD');
    const fragmentNodes = lines.flatMap((l) => {
      const m = /^\s+(f\d+_\w+)\["([^"<]*)/.exec(l);
      return m ? [m[2]] : [];
    });
    expect(fragmentNodes.sort()).toEqual(['customers', 'orders']);
    expect(out.stdout).toMatch(/f0_customers -->\|"id"\| f1_orders/);
  });

  it('prints Graphviz DOT with a node per fragment', async ({ expect }) => {
    const out = await runCli(['explain', plan, '-f', 'dot', '-p', 'segment=BUILDING']);
    expect(out.code).toBe(0);
    const dot = out.stdout.trim();
    expect(dot).toMatch(/^digraph "cli-demo" \{[\s\S]*\}$/);
    expect(balancedOutsideStrings(dot)).toBe(true);
    expect(dot).toMatch(/"f0_customers" \[label="customers\\n/);
    expect(dot).toMatch(/"f1_orders" \[label="orders\\n/);
    expect(dot).toContain('"f0_customers" -> "f1_orders" [label="id"]');
  });

  it('prints text with levels, sources, bound inputs and the merge tree', async ({ expect }) => {
    const out = await runCli(['explain', plan, '-s', sources, '-p', 'segment=BUILDING']);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('level 0\n  customers  crm (sqlite)');
    expect(out.stdout).toContain('where.in[1] ← customers.id');
    expect(out.stdout).toContain('params[0] ← $segment');
    expect(out.stdout).toContain('join inner on id = customer_id');
  });

  it('--analyze runs the plan and marks the critical path', async ({ expect }) => {
    const out = await runCli(['explain', plan, '-s', sources, '--analyze', '-q', '-p', 'segment=BUILDING']);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('EXPLAIN ANALYZE cli-demo: ok');
    expect(out.stdout).toContain('critical path: customers → orders');
    const gantt = await runCli(['explain', plan, '-s', sources, '--analyze', '-q', '-p', 'segment=BUILDING', '-f', 'mermaid']);
    expect(gantt.code).toBe(0);
    expect(gantt.stdout).toMatch(/^gantt\n/);
    expect(gantt.stdout).toMatch(/^ {4}customers :crit, f0, \d+, \d+$/m);
  });

  it('shows the plan as --partial and --deadline would run it, and refuses a malformed --deadline as run does', async ({ expect }) => {
    const plain = await runCli(['explain', plan, '-p', 'segment=BUILDING']);
    expect(plain.stdout.split('\n')[0]).toBe('EXPLAIN cli-demo: 2 fragments in 2 levels, fail-fast, schedule levels');
    const out = await runCli(['explain', plan, '--partial', '--deadline', '700', '-p', 'segment=BUILDING']);
    expect(out.code).toBe(0);
    expect(out.stdout.split('\n')[0]).toBe('EXPLAIN cli-demo: 2 fragments in 2 levels, partial, schedule levels, deadline 700 ms');
    const bad = await runCli(['explain', plan, '--deadline', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('--deadline: expected a positive whole number of milliseconds');
  });

  it('checks --param against the plan as run does for a name the plan does not use; a missing one only run refuses', async ({ expect }) => {
    const params = ['-p', 'segment=BUILDING', '-p', 'segmnet=X'];
    const explained = await runCli(['explain', plan, '-s', sources, ...params]);
    const ran = await runCli(['run', plan, '-s', sources, '-q', ...params]);
    expect(explained.code).toBe(2);
    expect(explained.stdout).toBe('');
    expect(explained).toEqual(ran);
    // Without --sources too: the parameters are the plan's.
    expect(await runCli(['explain', plan, ...params])).toEqual(ran);
    // Left out, a parameter does not change the picture: explain draws the plan, run refuses.
    const drawn = await runCli(['explain', plan]);
    expect(drawn.code).toBe(0);
    expect(drawn.stdout).toContain('segment');
    expect((await runCli(['run', plan, '-s', sources, '-q'])).code).toBe(2);
    const misspelt = await runCli(['explain', plan, '-p', 'segmnet=X']);
    expect(misspelt.stderr).toBe(
      'tributary: invalid arguments\n' +
        '  --param segmnet: unknown: the plan has no { "$param": "segmnet" } (the plan\'s parameters are segment)\n',
    );
  });

  it('--analyze without --sources exits 2', async ({ expect }) => {
    const out = await runCli(['explain', plan, '--analyze']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--sources');
  });
});

/** Braces and brackets balance once quoted strings (with their escapes) are removed. */
function balancedOutsideStrings(text: string): boolean {
  const bare = text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  let depth = 0;
  for (const ch of bare) {
    if (ch === '{' || ch === '[') depth++;
    if (ch === '}' || ch === ']') depth--;
    if (depth < 0) return false;
  }
  return depth === 0 && !bare.includes('"""');
}
