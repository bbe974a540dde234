import { describe, expect, it } from 'vitest';
import { isMysqlRetryable, mysqlDriverCode, mysqlErrorRule } from '../../../src/sources/mysql/errors.js';
import { isPostgresRetryable, postgresDriverCode, postgresErrorRule } from '../../../src/sources/postgres/errors.js';
import { sqlQuerySchema } from '../../../src/sources/sql/query.js';
import { TributaryError } from '../../../src/errors.js';

// Pure tests of what the SQL sources share: the query schema and the classification tables.

describe('sqlQuerySchema', () => {
  it('accepts sql with params, references included', () => {
    const query = { sql: 'SELECT * FROM t WHERE id = ANY($1) AND r = $2', params: [{ $from: 'a', column: 'id' }, { $param: 'region' }] };
    expect(sqlQuerySchema.parse(query)).toEqual(query);
    expect(sqlQuerySchema.parse({ sql: 'SELECT 1' })).toEqual({ sql: 'SELECT 1' });
  });

  it('rejects blank sql, unknown keys and malformed references', () => {
    expect(sqlQuerySchema.safeParse({ sql: '  ' }).success).toBe(false);
    expect(sqlQuerySchema.safeParse({ sql: 'SELECT 1', parms: [] }).success).toBe(false);
    const typo = sqlQuerySchema.safeParse({ sql: 'SELECT $1', params: [{ $from: 'a', colum: 'id' }] });
    expect(typo.success).toBe(false);
    expect(typo.error?.issues[0]?.path).toEqual(['params', 0]);
  });
});

describe('PostgreSQL classification', () => {
  const err = (code?: string, message = 'boom') => Object.assign(new Error(message), code === undefined ? {} : { code });

  it('looks up an exact SQLSTATE before its class', () => {
    expect(postgresErrorRule(err('40P01'))).toMatchObject({ retryable: true });
    expect(postgresErrorRule(err('08006'))).toMatchObject({ retryable: true, unavailable: true });
    expect(postgresErrorRule(err('28P01'))).toMatchObject({ retryable: false, unavailable: true });
    expect(postgresErrorRule(err('42501'))).toMatchObject({ retryable: false });
    expect(postgresErrorRule(err('XX000'))).toBeUndefined();
  });

  it("recognizes pg's codeless connection errors and socket codes", () => {
    expect(postgresDriverCode(err(undefined, 'Connection terminated unexpectedly'))).toBe('PG_CONNECTION_LOST');
    expect(isPostgresRetryable(err(undefined, 'Connection terminated unexpectedly'))).toBe(true);
    expect(isPostgresRetryable(err('ECONNRESET'))).toBe(true);
    const aggregate = Object.assign(new AggregateError([err('ECONNREFUSED')], 'connect failed'));
    expect(postgresDriverCode(aggregate)).toBe('ECONNREFUSED');
  });

  it("trusts a TributaryError's own retryable flag", () => {
    expect(isPostgresRetryable(new TributaryError('LIMIT_EXCEEDED', 'too many', { retryable: false }))).toBe(false);
    expect(isPostgresRetryable(new TributaryError('FRAGMENT_FAILED', 'x', { cause: err('40001') }))).toBe(true);
  });
});

describe('MariaDB/MySQL classification', () => {
  const server = (errno: number) => Object.assign(new Error('server says no'), { errno, sqlState: 'HY000', code: 'ER_X' });

  it('keys server errors by errno and client errors by code', () => {
    expect(mysqlDriverCode(server(1213))).toBe('1213');
    expect(mysqlErrorRule(server(1205))).toMatchObject({ retryable: true });
    expect(mysqlErrorRule(server(1064))).toMatchObject({ retryable: false });
    const lost = Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true });
    expect(mysqlDriverCode(lost)).toBe('PROTOCOL_CONNECTION_LOST');
    expect(isMysqlRetryable(lost)).toBe(true);
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104 });
    expect(mysqlDriverCode(reset)).toBe('ECONNRESET');
    expect(isMysqlRetryable(server(1146))).toBe(false);
  });
});
