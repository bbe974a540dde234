import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../src/errors.js';
import { dotString, ganttText, mermaidText } from '../../src/explain/escape.js';
import { createExecutor } from '../../src/executor.js';
import { analyze, explain, querySummary } from '../../src/explain/index.js';
import { validatePlan } from '../../src/plan/index.js';
import { httpSource } from '../../src/sources/http/connector.js';
import { memorySource } from '../../src/sources/memory/connector.js';
import { sqliteSource } from '../../src/sources/sqlite/connector.js';

/** The DESIGN.md example plan. */
const designPlan = {
  id: 'top-customers',
  fragments: [
    { id: 'customers', source: 'crm', query: { sql: 'SELECT id, name FROM customers WHERE segment = ?', params: ['BUILDING'] } },
    {
      id: 'orders',
      source: 'shop',
      dependsOn: ['customers'],
      query: { sql: 'SELECT customer_id, total FROM orders WHERE customer_id IN (SELECT value FROM json_each(?))', params: [{ $from: 'customers', column: 'id' }] },
      batch: { param: 0, size: 500 },
      timeoutMs: 2000,
      retry: { attempts: 5 },
      cache: { ttlMs: 0 },
    },
    { id: 'rates', source: 'rates', query: { path: '/rates', searchParams: { region: 'EU' } } },
    { id: 'audit', source: 'ref', dependsOn: ['rates'], query: { table: 'log', where: { eq: ['region', { $param: 'region' }] } } },
  ],
  merge: {
    op: 'limit',
    n: 10,
    input: {
      op: 'sort',
      by: [{ column: 'total', desc: true }],
      input: { op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']] },
    },
  },
};

const sources = {
  crm: sqliteSource({ file: ':memory:' }),
  shop: sqliteSource({ file: ':memory:' }),
  rates: httpSource({ baseUrl: 'http://127.0.0.1:9' }),
  ref: memorySource({ tables: { log: [] } }),
};

/** A plan whose text tries to break every notation. */
const hostile = {
  id: 'q"; } digraph evil {\n%% x',
  fragments: [
    { id: 'end', source: 'crm', query: { sql: 'SELECT "a"]) ; click x call alert(1) %% <b>x</b> | # &amp; `y` {z} \\ end\n-- second line' } },
    { id: 'graph', source: 'ref', dependsOn: ['end'], query: { table: 't|x"', where: { in: ['c"|', { $from: 'end', column: 'a"]|;' }] } } },
    { id: 'o-x', source: 'ref', dependsOn: ['graph'], query: { table: 't' } },
  ],
  merge: { op: 'filter', input: 'o-x', where: { eq: ['a', '"]) %%\n'] } },
};

describe('explain', () => {
  it('describes levels, sources, bound inputs, batching, overrides and the merge tree as text', () => {
    const text = explain(designPlan, { sources }).text();
    expect(text).toBe(
      [
        'EXPLAIN top-customers: 4 fragments in 2 levels, fail-fast, schedule levels',
        '',
        'level 0',
        '  customers  crm (sqlite)   SELECT id, name FROM customers WHERE segment = ?',
        '  rates      rates (http)   GET /rates?region=…',
        'level 1',
        '  orders     shop (sqlite)  SELECT customer_id, total FROM orders WHERE customer_id IN (SELECT value FROM j…',
        '                            after customers',
        '                            params[0] ← customers.id, in batches of 500',
        '                            timeout 2000 ms, retry attempts=5, cache ttl 0 ms',
        '  audit      ref (memory)   table log where region = $region',
        '                            after rates',
        '                            where.eq[1] ← $region',
        'merge',
        '  limit 10',
        '  └─ sort total desc',
        '     └─ join inner on id = customer_id',
        '        ├─ left: customers',
        '        └─ right: orders',
      ].join('\n'),
    );
  });

  it('shows the query deadline, and which fragments are optional or have a deadline of their own', () => {
    const plan = {
      id: 'dl',
      deadlineMs: 500,
      fragments: [
        { id: 'core', source: 'ref', query: { table: 'log' }, deadlineMs: 200 },
        { id: 'extra', source: 'ref', query: { table: 'log' }, optional: true },
      ],
      merge: { op: 'union', inputs: ['core', 'extra'] },
    };
    const lines = explain(plan).text().split('\n');
    expect(lines[0]).toBe('EXPLAIN dl: 2 fragments in 1 level, fail-fast, schedule levels, deadline 500 ms');
    expect(lines.slice(3, 7)).toEqual(['  core   ref  table log', '              deadline 200 ms', '  extra  ref  table log', '              optional: dropped if the deadline runs out']);
  });

  it("shows what the plan sets for all its fragments (timeout, deadline, retry, cache, hedge, limits), beside each fragment's own", () => {
    const plan = {
      id: 'wide',
      timeoutMs: 500,
      fragmentDeadlineMs: 900,
      retry: { attempts: 1 },
      cache: false,
      hedge: false,
      limits: { maxRows: 10, maxResultRows: 20 },
      fragments: [
        { id: 'a', source: 'ref', query: { table: 'log' } },
        { id: 'b', source: 'ref', query: { table: 'log' }, timeoutMs: 100, cache: { ttlMs: 5 } },
      ],
      merge: { op: 'union', inputs: ['a', 'b'] },
    };
    const e = explain(plan);
    expect(e.planWide).toEqual({ timeoutMs: 500, deadlineMs: 900, retry: { attempts: 1 }, cache: false, hedge: false, limits: { maxRows: 10, maxResultRows: 20 } });
    const lines = e.text().split('\n');
    expect(lines.slice(0, 2)).toEqual([
      'EXPLAIN wide: 2 fragments in 1 level, fail-fast, schedule levels',
      'every fragment (unless it sets its own): timeout 500 ms, deadline 900 ms, retry attempts=1, no cache, no hedge, limits maxRows=10 maxResultRows=20',
    ]);
    expect(lines.slice(3, 6)).toEqual(['level 0', '  a  ref  table log', '  b  ref  table log']);
    expect(lines[6]).toBe('          timeout 100 ms, cache ttl 5 ms');
    expect(e.html()).toContain('every fragment (unless it sets its own): timeout 500 ms, deadline 900 ms, retry attempts=1, no cache, no hedge, limits maxRows=10 maxResultRows=20');
    // A plan that sets none of them has no such line, and no planWide.
    expect(explain(designPlan).planWide).toBeUndefined();
    expect(explain(designPlan).text().split('\n')[1]).toBe('');
  });

  it('returns the model: fragments, inputs and labelled dependency edges', () => {
    const e = explain(designPlan);
    expect(e.levels).toEqual([['customers', 'rates'], ['orders', 'audit']]);
    expect(e.fragments.find((f) => f.id === 'orders')!.inputs).toEqual([{ kind: 'column', path: 'params[0]', fragment: 'customers', column: 'id', batchSize: 500 }]);
    expect(e.edges).toEqual([
      { from: 'customers', to: 'orders', columns: ['id'] },
      { from: 'rates', to: 'audit', columns: [] },
    ]);
    expect(e.merge.label).toBe('limit 10');
  });

  it('names a source whose calls run on BullMQ workers (remote: true) as remote', () => {
    const e = explain(designPlan, { sources: { ...sources, ref: { ...memorySource({ tables: { log: [] } }), remote: true } } });
    expect(e.fragments.find((f) => f.id === 'audit')).toMatchObject({ sourceKind: 'memory', remote: true });
    expect(e.fragments.find((f) => f.id === 'customers')!.remote).toBeUndefined();
    expect(e.text()).toMatch(/^ {2}audit +ref \(memory, remote\) +table log/m);
    expect(e.mermaid()).toContain('audit<br/>ref (memory, remote)<br/>');
  });

  it("marks the sources the executor's remote option sends to workers, without the sources too, and checks remote.sources", () => {
    const e = explain(designPlan, { remote: { sources: ['shop'] } });
    expect(e.fragments.filter((f) => f.remote).map((f) => f.id)).toEqual(['orders']);
    expect(e.text()).toMatch(/^ {2}orders +shop \(remote\) +SELECT/m);
    expect(explain(designPlan, { remote: {} }).fragments.every((f) => f.remote)).toBe(true);
    let caught: unknown;
    try {
      explain(designPlan, { remote: { sources: 'shop' as never } });
    } catch (error) {
      caught = error;
    }
    expect(isTributaryError(caught, 'CONFIG_INVALID') && caught.issues.map((i) => i.path)).toEqual(['remote.sources']);
  });

  it('accepts a ValidatedPlan as well as a raw plan', () => {
    expect(explain(validatePlan(designPlan)).mermaid()).toBe(explain(designPlan).mermaid());
  });

  it("accepts executor.prepare()'s PreparedPlan, for EXPLAIN and for EXPLAIN ANALYZE of a run of it", async () => {
    const ref = memorySource({ tables: { log: [{ id: 1 }, { id: 2 }] } });
    const executor = createExecutor({ sources: { ref } });
    try {
      const plan = { id: 'prep', timeoutMs: 300, fragments: [{ id: 'a', source: 'ref', query: { table: 'log' } }], merge: 'a' };
      const prepared = executor.prepare(plan);
      expect(explain(prepared).text()).toBe(explain(plan).text());
      const result = await executor.execute(prepared);
      const a = analyze(result, prepared);
      expect(a.fragments).toMatchObject([{ id: 'a', status: 'succeeded', rowCount: 2 }]);
      expect(a.text()).toBe(analyze(result, plan).text());
    } finally {
      await executor.close();
    }
  });

  it('throws PLAN_INVALID with every issue for an invalid plan, and checks queries against the sources', () => {
    const bad = { fragments: [{ id: 'a', source: 'crm', query: { table: 'x' } }, { id: 'b', source: 'crm', dependsOn: ['zz'], query: { sql: 'x' } }] };
    const issuesOf = (fn: () => unknown): string[] => {
      try {
        fn();
      } catch (error) {
        if (isTributaryError(error, 'PLAN_INVALID')) return error.issues.map((i) => i.path);
        throw error;
      }
      return [];
    };
    expect(issuesOf(() => explain(bad))).toEqual(['fragments[1].dependsOn[0]']);
    expect(issuesOf(() => explain(bad, { sources }))).toEqual(expect.arrayContaining(['fragments[1].dependsOn[0]', 'fragments[0].query.table']));
  });

  describe('mermaid()', () => {
    it('draws fragments by level, bind edges labelled with the column, ordering edges dotted, then the merge tree', () => {
      expect(explain(designPlan).mermaid()).toBe(
        [
          'flowchart TD',
          '  subgraph level_0["level 0"]',
          '    f0_customers["customers<br/>crm<br/>SELECT id, name FROM customers WHERE segment = ?"]',
          '    f2_rates["rates<br/>rates<br/>GET /rates?region=#8230;"]',
          '  end',
          '  subgraph level_1["level 1"]',
          '    f1_orders["orders<br/>shop<br/>SELECT customer_id, total FROM orders WHERE customer_id IN (SELECT value FROM j#8230;"]',
          '    f3_audit["audit<br/>ref<br/>table log where region = $region"]',
          '  end',
          '  m0{{"limit 10"}}',
          '  m1{{"sort total desc"}}',
          '  m2{{"join inner on id = customer_id"}}',
          '  result(["result"])',
          '  f0_customers -->|"id (batches of 500)"| f1_orders',
          '  f2_rates -.-> f3_audit',
          '  m1 --> m0',
          '  m2 --> m1',
          '  f0_customers -->|"left"| m2',
          '  f1_orders -->|"right"| m2',
          '  m0 --> result',
        ].join('\n'),
      );
    });

    it('keeps hostile text inside its labels: quotes, brackets, pipes, comments, HTML and newlines are entity-coded', () => {
      const lines = explain(hostile).mermaid().split('\n');
      const grammar = [
        /^flowchart TD$/,
        /^ {2}subgraph level_\d+\["level \d+"\]$/,
        /^ {2}end$/,
        /^ {4}f\d+_\w+\["[^"]*"\]$/,
        /^ {2}m\d+\{\{"[^"]*"\}\}$/,
        /^ {2}result\(\["result"\]\)$/,
        /^ {2}\w+ (-->|-\.->)(\|"[^"]*"\|)? \w+$/,
      ];
      for (const line of lines) expect(grammar.some((g) => g.test(line)), line).toBe(true);
      const labels = lines.flatMap((l) => [...l.matchAll(/"([^"]*)"/g)].map((m) => m[1]!));
      for (const label of labels) expect(label.replace(/#\d+;|<br\/>/g, ''), label).not.toMatch(/["<>|;%`\\&#\n]/);
      expect(lines.filter((l) => /^ {4}f\d/.test(l)).map((l) => /\["([^<"]*)/.exec(l)![1])).toEqual(['end', 'graph', 'o-x']);
      expect(lines.join('\n')).toContain('#34;a#34;]) #59; click x call alert(1) #37;#37; #60;b#62;x#60;/b#62; #124; #35; #38;amp#59; #96;y#96; {z} #92; end #8230;');
    });
  });

  describe('dot()', () => {
    it('escapes every string so the graph stays one digraph', () => {
      const dot = explain(hostile).dot();
      const strings = [...dot.matchAll(/"(?:[^"\\]|\\.)*"/g)].map((m) => m[0]);
      const bare = dot.replace(/"(?:[^"\\]|\\.)*"/g, 'S');
      // Outside strings only DOT keywords, attribute names, punctuation and numbers remain.
      expect(bare.replace(/\b(digraph|subgraph|node|edge|rankdir|TB|label|style|dashed|shape|box|hexagon|oval|fontname|fontsize|color|penwidth|\d+|S)\b/g, '').replace(/[\s{}[\];=,>-]/g, '')).toBe('');
      expect(bare.match(/\{/g)!.length).toBe(bare.match(/\}/g)!.length);
      expect(dot.split('\n')[0]).toBe('digraph "q\\"; } digraph evil { %% x" {');
      expect(strings).toContain('"end\\ncrm\\nSELECT \\"a\\"]) ; click x call alert(1) %% <b>x</b> | # &amp; `y` {z} \\\\ end …"');
      expect(dot).toContain('"f0_end" -> "f1_graph" [label="a\\"]|;"];');
      expect(dot).toContain('"f1_graph" -> "f2_o_x" [style=dashed];');
    });
  });
});

describe('escaping helpers', () => {
  it('mermaidText entity-codes everything outside a safe set', () => {
    expect(mermaidText('a "b" #1 <c>;\nd')).toBe('a #34;b#34; #35;1 #60;c#62;#59; d');
  });
  it('dotString escapes quotes and backslashes and folds newlines', () => {
    expect(dotString('say "hi"\\n\nnext')).toBe('"say \\"hi\\"\\\\n next"');
  });
  it('ganttText removes the characters Gantt syntax reserves', () => {
    expect(ganttText('a:b;c#d\ne')).toBe('a b c d e');
  });
});

describe('querySummary', () => {
  it('shows the first SQL line, a memory scan, an HTTP request, or JSON', () => {
    expect(querySummary({ sql: '\n  SELECT a\n  FROM t' })).toBe('SELECT a …');
    expect(querySummary({ sql: 'SELECT ' + 'x, '.repeat(40) }, 20)).toBe('SELECT x, x, x, x, …');
    expect(querySummary({ table: 't', columns: ['a', 'b'], where: { or: [{ isNull: 'a' }, { not: { in: ['b', [1, 2]] } }] } })).toBe('table t [a, b] where a is null or not b in (1, 2)');
    expect(querySummary({ method: 'POST', path: '/search' })).toBe('POST /search');
    expect(querySummary({ collection: 'users' })).toBe('{"collection":"users"}');
  });
});
