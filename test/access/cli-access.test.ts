import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../cli/support.js';

/** `tributary run|explain --principal <id> --authorize <module>` through the real command. */
describe('the CLI with --principal and --authorize', () => {
  const tmp = tempDir();
  let plan: string;
  let sources: string;
  let rule: string;
  let slowRule: string;

  beforeAll(() => {
    sources = tmp.file('sources.json', {
      hr: { kind: 'memory', tables: { people: [{ id: 1, name: 'Ada' }] } },
      payroll: { kind: 'memory', tables: { pay: [{ person: 1, salary: 10 }] } },
    });
    plan = tmp.file('plan.json', {
      id: 'pay',
      fragments: [
        { id: 'people', source: 'hr', query: { table: 'people' } },
        { id: 'pay', source: 'payroll', query: { table: 'pay' } },
      ],
      merge: { op: 'join', type: 'inner', left: 'people', right: 'pay', on: [['id', 'person']] },
    });
    rule = join(tmp.dir, 'rule.mjs');
    writeFileSync(rule, "export default (principal, { source }) => source !== 'payroll' || principal?.id === 'hana' || 'payroll is for HR';\n");
    slowRule = join(tmp.dir, 'slow-rule.mjs');
    writeFileSync(slowRule, "export default async (principal, { source }) => source !== 'payroll' || principal?.id === 'hana' || 'payroll is for HR';\n");
  });
  afterAll(() => tmp.remove());

  it('run: a refused principal exits 4 with the refused fragment on stderr and nothing on stdout', async () => {
    for (const module of [rule, slowRule]) {
      const out = await runCli(['run', plan, '-s', sources, '-q', '-f', 'json', '--principal', 'mallory', '--authorize', module]);
      expect(out.code).toBe(4);
      expect(out.stdout).toBe('');
      expect(out.stderr).toContain('tributary: forbidden: principal "mallory" may not run fragment "pay"');
      expect(out.stderr).toContain('fragments[1]: fragment "pay" on source "payroll": payroll is for HR');
    }
  });

  it('run: an allowed principal gets the rows (exit 0)', async () => {
    const out = await runCli(['run', plan, '-s', sources, '-q', '-f', 'json', '--principal', 'hana', '--authorize', slowRule]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual([{ id: 1, name: 'Ada', person: 1, salary: 10 }]);
  });

  it('explain asks the rule with the --param values, as run does', async () => {
    const byParam = join(tmp.dir, 'param-rule.mjs');
    writeFileSync(byParam, "export default (principal, { params }) => params.region === 'EU' || `region ${params.region} is closed`;\n");
    // A plan that takes the parameter: explain, as run, refuses a --param the plan does not use.
    const regional = tmp.file('regional-plan.json', { id: 'regional', fragments: [{ id: 'people', source: 'hr', query: { table: 'people', where: { ne: ['name', { $param: 'region' }] } } }] });
    const refused = await runCli(['explain', regional, '--principal', 'hana', '--authorize', byParam, '--param', 'region=US']);
    expect(refused.code).toBe(4);
    expect(refused.stdout).toContain('REFUSED: region US is closed');
    const ran = await runCli(['run', regional, '-s', sources, '-q', '--principal', 'hana', '--authorize', byParam, '--param', 'region=US']);
    expect(ran.code).toBe(4);
    expect(ran.stderr).toContain('region US is closed');
    const allowed = await runCli(['explain', regional, '--principal', 'hana', '--authorize', byParam, '--param', 'region=EU']);
    expect(allowed.stdout).toContain('access for principal "hana": every fragment allowed');
    expect(allowed.code).toBe(0);
  });

  it('explain: shows what would be refused and exits 4; allowed exits 0', async () => {
    const refused = await runCli(['explain', plan, '--principal', 'mallory', '--authorize', slowRule]);
    expect(refused.code).toBe(4);
    expect(refused.stdout).toContain('access for principal "mallory": 1 of 2 fragments refused');
    expect(refused.stdout).toContain('REFUSED: payroll is for HR');
    const allowed = await runCli(['explain', plan, '--principal', 'hana', '--authorize', rule]);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain('access for principal "hana": every fragment allowed');
  });

  it('a module without a default-exported function is invalid input (exit 2)', async () => {
    const bad = join(tmp.dir, 'bad.mjs');
    writeFileSync(bad, 'export const rule = () => true;\n');
    const out = await runCli(['run', plan, '-s', sources, '--authorize', bad]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('has no default-exported function');
  });
});
