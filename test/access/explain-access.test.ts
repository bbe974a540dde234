import { describe, expect, it } from 'vitest';
import { checkAccess, type Authorize } from '../../src/access/index.js';
import { explain } from '../../src/explain/index.js';
import { validatePlan } from '../../src/plan/index.js';

const plan = {
  id: 'people-and-pay',
  fragments: [
    { id: 'people', source: 'hr', query: { table: 'people' } },
    { id: 'pay', source: 'payroll', query: { table: 'pay' } },
  ],
  merge: { op: 'join', type: 'inner', left: 'people', right: 'pay', on: [['id', 'person']] },
};
const rule: Authorize = (principal, { source }) => source !== 'payroll' || principal?.team === 'hr' || 'payroll is for the HR team';

describe('EXPLAIN with a principal and an authorize rule', () => {
  it('marks each fragment the rule would refuse, with its reason, and counts them', () => {
    const explained = explain(plan, { principal: { id: 'mallory', team: 'sales', secret: 's3cr3t' }, authorize: rule });
    expect(explained.access).toEqual({ principalId: 'mallory', refused: 1 });
    expect(explained.fragments.map((f) => f.access)).toEqual([{ allowed: true }, { allowed: false, reason: 'payroll is for the HR team' }]);
    const text = explained.text().split('\n');
    expect(text[1]).toBe('access for principal "mallory": 1 of 2 fragments refused (FORBIDDEN: nothing would run)');
    const payLine = text.findIndex((l) => l.trimStart().startsWith('pay '));
    expect(text[payLine + 1]!.trim()).toBe('REFUSED: payroll is for the HR team');
    expect(text.filter((l) => l.includes('REFUSED'))).toHaveLength(1);
    // Principals appear by id only: no other claim reaches the output.
    expect(explained.text()).not.toContain('s3cr3t');
  });

  it('says every fragment is allowed for an allowed principal, and nothing about access without a rule', () => {
    expect(explain(plan, { principal: { id: 'hana', team: 'hr' }, authorize: rule }).text().split('\n')[1]).toBe('access for principal "hana": every fragment allowed');
    const plain = explain(plan);
    expect(plain.access).toBeUndefined();
    expect(plain.text()).not.toContain('access');
  });

  it('takes verdicts worked out by an asynchronous rule; the rule itself must then not be passed', async () => {
    const slow: Authorize = async (p, r) => rule(p, r);
    expect(() => explain(plan, { principal: { id: 'x' }, authorize: slow })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    const access = await checkAccess(slow, validatePlan(plan), undefined);
    const explained = explain(plan, { access });
    expect(explained.access).toEqual({ principalId: undefined, refused: 1 });
    expect(explained.text().split('\n')[1]).toBe('access for an anonymous caller: 1 of 2 fragments refused (FORBIDDEN: nothing would run)');
  });
});
