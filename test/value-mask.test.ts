import { describe, expect, it } from 'vitest';
import { FragmentError, TributaryError } from '../src/errors.js';
import { MASK, createValueMask, noteCallValues, originalError, printedForms, publicError } from '../src/value-mask.js';

describe('createValueMask', () => {
  it('masks every printed form of the values, longest first, and leaves short ones alone', () => {
    const mask = createValueMask(['SSN-123', 'SSN-123-45', 42, 12345678901234567890n, 'a b&c']);
    expect(mask('invalid input syntax for type integer: "SSN-123-45"')).toBe(`invalid input syntax for type integer: "${MASK}"`);
    expect(mask("Duplicate entry 'SSN-123' for key 'PRIMARY'")).toBe(`Duplicate entry '${MASK}' for key 'PRIMARY'`);
    // 42 is too short to mask: it is in every text.
    expect(mask('value 12345678901234567890 is out of range at line 42')).toBe(`value ${MASK} is out of range at line 42`);
    // URL-encoded, as an HTTP path or search param prints it.
    expect(mask('GET /x?q=a+b%26c and /y/a%20b%26c')).toBe(`GET /x?q=${MASK} and /y/${MASK}`);
  });

  it('masks a value only as a whole word, so a number does not blank out a longer one', () => {
    const mask = createValueMask([100]);
    expect(mask('1000 rows; id=100; (100)')).toBe(`1000 rows; id=${MASK}; (${MASK})`);
  });

  it("masks a number printed with its column's scale, never a longer number it starts", () => {
    const mask = createValueMask([1.5, 125, '27.10']);
    expect(mask("Duplicate entry '1.500' for key; 125.00 and 27.1; 1.51, 1.501, 1250")).toBe(`Duplicate entry '${MASK}' for key; ${MASK} and ${MASK}; 1.51, 1.501, 1250`);
  });

  it('still masks a value followed by a longer fraction, as it did before scales were read', () => {
    const mask = createValueMask(['4111111111', 125]);
    expect(mask('card 4111111111.05 refused; 125.07')).toBe(`card ${MASK}.05 refused; ${MASK}.07`);
  });

  it('masks a long value the server cut short, and the elements of lists and objects', () => {
    const long = 'customer-4111111111111111-very-long-secret-value-that-goes-on-and-on-and-on';
    const mask = createValueMask([[long, { nested: ['ann@example.com'] }], new Date('2024-01-02T03:04:05.000Z')]);
    expect(mask(`Duplicate entry '${long.slice(0, 64)}' for key`)).toBe(`Duplicate entry '${MASK}' for key`);
    expect(mask('Key (email)=(ann@example.com) already exists.')).toBe(`Key (email)=(${MASK}) already exists.`);
    expect(mask('at 2024-01-02T03:04:05.000Z')).toBe(`at ${MASK}`);
  });

  it("leaves a fold that is a word of the statement in that case, never a value's own form", () => {
    const sql = { sql: 'SELECT name FROM users WHERE name = $1' };
    expect(createValueMask(['from', 'Users'], sql)('syntax error at or near "FROM"; relation "users"')).toBe('syntax error at or near "FROM"; relation "users"');
    // Its own form, and a fold that is no word of the statement (or not in that case), stay masked.
    expect(createValueMask(['from', 'Users'], sql)('"from" "USERS" "Users"')).toBe(`"${MASK}" "${MASK}" "${MASK}"`);
    // Another value printed as it is, and a statement that folds values itself.
    expect(createValueMask(['from', 'FROM'], sql)('near "FROM"')).toBe(`near "${MASK}"`);
    expect(createValueMask(['from'], { sql: 'SELECT upper($1) FROM t' })('near "FROM"')).toBe(`near "${MASK}"`);
    expect(createValueMask(['from'])('near "FROM"')).toBe(`near "${MASK}"`);
  });

  it('does not mask the placeholder a shorter value matches inside', () => {
    expect(createValueMask(['SSN-1', 'param'])('"SSN-1" param')).toBe(`"${MASK}" ${MASK}`);
    expect(printedForms([true, null, 'ab', Buffer.from('secret')]).size).toBe(0);
  });
});

describe('publicError', () => {
  it('copies an error with its message, issues and stack masked and the driver cause left behind', () => {
    const driver = Object.assign(new Error('invalid input syntax for type integer: "SSN-123"'), { detail: 'Key (ssn)=(SSN-123)' });
    const error = new FragmentError('FRAGMENT_FAILED', `fragment "f" failed: ${driver.message}`, { fragmentId: 'f', source: 'pg', attempt: 2, retryable: false, cause: driver, driverCode: '22P02' });
    noteCallValues(error, ['SSN-123']);
    const copy = publicError(error, { region: 'north-eu' });
    expect(copy).toBeInstanceOf(FragmentError);
    expect(copy).toMatchObject({ code: 'FRAGMENT_FAILED', fragmentId: 'f', source: 'pg', attempt: 2, retryable: false, driverCode: '22P02' });
    expect(copy.message).toBe(`fragment "f" failed: invalid input syntax for type integer: "${MASK}"`);
    expect(JSON.stringify([copy.message, copy.issues, copy.stack])).not.toContain('SSN-123');
    expect(copy.cause).toBeUndefined();
    expect(originalError(copy)).toBe(error);
    expect(publicError(copy)).toBe(copy);
  });

  it('keeps issue paths, which name places in the plan, even where a value has the same text', () => {
    const error = new TributaryError('FRAGMENT_FAILED', 'no table customers', { issues: [{ path: 'fragments.customers.query', message: 'no table customers' }] });
    expect(publicError(error, { table: 'customers' }).issues).toEqual([{ path: 'fragments.customers.query', message: `no table ${MASK}` }]);
  });

  it('masks overlapping values of the call and of the run params as one, whichever is longer', () => {
    const error = new TributaryError('FRAGMENT_FAILED', 'bad "SSN-123-45" and "x-SSN-123"');
    noteCallValues(error, ['SSN-123-45']);
    expect(publicError(error, { p: 'SSN-123', q: 'x-SSN' }).message).toBe(`bad "${MASK}" and "${MASK}"`);
  });

  it('masks a wrapping error with the values noted on its cause, and the run params everywhere', () => {
    const inner = new FragmentError('FRAGMENT_FAILED', 'bad "SSN-999"', { fragmentId: 'f', source: 's', attempt: 1 });
    noteCallValues(inner, ['SSN-999']);
    const outer = new TributaryError('CANCELLED', 'stopped: bad "SSN-999" for north-eu', { cause: inner });
    const copy = publicError(outer, { region: 'north-eu' });
    expect(copy.message).toBe(`stopped: bad "${MASK}" for ${MASK}`);
    expect((copy.cause as Error).message).toBe(`bad "${MASK}"`);
  });
});
