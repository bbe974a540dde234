import { describe, expect, it } from 'vitest';
import { MIN_SERVER_BUDGET_MS, safeMs, serverBudgetMs, statementLimitMs } from '../../../src/sources/sql/budget.js';
import { mysqlBudgetTimeout, withStatementLimit, type MysqlServer } from '../../../src/sources/mysql/budget.js';

describe('the server-side limit of a budget', () => {
  it('rounds up to two significant digits, never below the floor, never below the budget', () => {
    expect(serverBudgetMs(300)).toBe(300);
    expect(serverBudgetMs(1234)).toBe(1300);
    expect(serverBudgetMs(1500)).toBe(1500);
    expect(serverBudgetMs(29_873)).toBe(30_000);
    expect(serverBudgetMs(99.2)).toBe(100);
    expect(serverBudgetMs(1)).toBe(MIN_SERVER_BUDGET_MS);
    for (const budget of [51, 77, 101, 999, 1001, 4321, 65_432, 2 ** 30]) {
      const limit = serverBudgetMs(budget)!;
      expect(limit).toBeGreaterThanOrEqual(budget);
      expect(limit).toBeLessThanOrEqual(budget * 1.1);
      expect(Number.isSafeInteger(limit)).toBe(true);
    }
  });

  it('is none without a usable budget', () => {
    for (const budget of [undefined, 0, -5, Infinity, NaN, 2 ** 31]) expect(serverBudgetMs(budget)).toBeUndefined();
  });

  it("leaves a stricter session limit alone, and tightens a looser one", () => {
    expect(statementLimitMs(60_000, 5000)).toBeUndefined();
    expect(statementLimitMs(5000, 5000)).toBeUndefined();
    expect(statementLimitMs(300, 5000)).toBe(300);
    expect(statementLimitMs(300, undefined)).toBe(300);
    expect(statementLimitMs(300, 0)).toBe(300);
  });

  it('refuses anything but a positive safe integer for SQL text', () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity, 2 ** 60]) expect(() => safeMs(bad)).toThrow(RangeError);
    expect(safeMs(300)).toBe(300);
  });
});

describe('MariaDB / MySQL statement text with a limit', () => {
  const mariadb: MysqlServer = { dialect: 'mariadb', baseMs: undefined };
  const mysql: MysqlServer = { dialect: 'mysql', baseMs: undefined };

  it('MariaDB: SET STATEMENT max_statement_time in seconds FOR any statement', () => {
    expect(withStatementLimit('SELECT ?', mariadb, 300)).toBe('SET STATEMENT max_statement_time=0.3 FOR SELECT ?');
    expect(withStatementLimit('SELECT 1', mariadb, 1500)).toBe('SET STATEMENT max_statement_time=1.5 FOR SELECT 1');
    expect(withStatementLimit('SELECT 1', mariadb, 30_000)).toBe('SET STATEMENT max_statement_time=30 FOR SELECT 1');
    expect(withStatementLimit('UPDATE t SET a = 1', mariadb, 1050)).toBe('SET STATEMENT max_statement_time=1.05 FOR UPDATE t SET a = 1');
  });

  it('MySQL: a MAX_EXECUTION_TIME hint after the leading SELECT, merged into an existing hint; other statements unchanged', () => {
    expect(withStatementLimit('SELECT a FROM t', mysql, 300)).toBe('SELECT /*+ MAX_EXECUTION_TIME(300) */ a FROM t');
    expect(withStatementLimit('  select a from t', mysql, 300)).toBe('  select /*+ MAX_EXECUTION_TIME(300) */ a from t');
    expect(withStatementLimit('/* marker */ SELECT 1', mysql, 300)).toBe('/* marker */ SELECT /*+ MAX_EXECUTION_TIME(300) */ 1');
    expect(withStatementLimit('SELECT /*+ BKA(t) */ a FROM t', mysql, 300)).toBe('SELECT /*+ MAX_EXECUTION_TIME(300) BKA(t) */ a FROM t');
    expect(withStatementLimit('UPDATE t SET a = 1', mysql, 300)).toBe('UPDATE t SET a = 1');
    expect(withStatementLimit('SELECTED', mysql, 300)).toBe('SELECTED');
  });

  it('never writes an unvalidated number into the text', () => {
    expect(() => withStatementLimit('SELECT 1', mariadb, 1.5)).toThrow(RangeError);
    expect(() => withStatementLimit('SELECT 1', mysql, Number.NaN)).toThrow(RangeError);
  });

  it('1969 and 3024 are TIMEOUT only when a limit was given', () => {
    const stopped = Object.assign(new Error('Query execution was interrupted (max_statement_time exceeded)'), { errno: 1969 });
    expect(mysqlBudgetTimeout(stopped, 300)?.code).toBe('TIMEOUT');
    expect(mysqlBudgetTimeout(Object.assign(new Error('x'), { errno: 3024 }), 300)?.code).toBe('TIMEOUT');
    expect(mysqlBudgetTimeout(stopped, undefined)).toBeUndefined();
    expect(mysqlBudgetTimeout(Object.assign(new Error('x'), { errno: 1317 }), 300)).toBeUndefined();
  });
});
