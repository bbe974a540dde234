import { describe, expect, it } from 'vitest';
import { normalizeDate, normalizeDecimal, normalizeFloat32, normalizeInteger, normalizeTimestamp } from '../../../src/sources/sql/normalize.js';

describe('values policy helpers', () => {
  it('keeps safe integers as numbers and gives the exact string beyond 2^53', () => {
    expect(normalizeInteger(42)).toBe(42);
    expect(normalizeInteger('42')).toBe(42);
    expect(normalizeInteger('-007')).toBe(-7);
    expect(normalizeInteger(42n)).toBe(42);
    expect(normalizeInteger('9007199254740993')).toBe('9007199254740993');
    expect(normalizeInteger(2n ** 64n - 1n)).toBe('18446744073709551615');
    expect(normalizeInteger(-(2n ** 63n))).toBe('-9223372036854775808');
    expect(normalizeInteger('+00018446744073709551615')).toBe('18446744073709551615');
    expect(normalizeInteger(2 ** 53)).toBe('9007199254740992');
    expect(normalizeInteger('1.5')).toBe('1.5');
  });

  it('turns decimals of up to 15 significant digits into numbers and keeps longer ones as exact strings', () => {
    expect(normalizeDecimal('12345678901234567890.0123456789')).toBe('12345678901234567890.0123456789');
    expect(normalizeDecimal('1234567890.12345')).toBe(1234567890.12345);
    expect(normalizeDecimal('1234567890.123456')).toBe('1234567890.123456');
    expect(normalizeDecimal('12.50')).toBe(12.5);
    expect(normalizeDecimal('-0.000100')).toBe(-0.0001);
    expect(normalizeDecimal('NaN')).toBeNaN();
    expect(normalizeDecimal('-Infinity')).toBe(-Infinity);
    expect(normalizeDecimal(10n)).toBe(10);
  });

  it('prints single-precision floats as their shortest round-trip decimal', () => {
    expect(normalizeFloat32(Math.fround(1.1))).toBe(1.1);
    expect(normalizeFloat32(Math.fround(3.4028235e38))).toBe(3.4028235e38);
    expect(normalizeFloat32(0.5)).toBe(0.5);
    expect(normalizeFloat32(1.1)).toBe(1.1); // not a float32 value: unchanged
    expect(normalizeFloat32(Number.NaN)).toBeNaN();
  });

  it('writes timestamps as ISO 8601 UTC, reading zoneless text as UTC', () => {
    expect(normalizeTimestamp('2024-01-02 03:04:05')).toBe('2024-01-02T03:04:05.000Z');
    expect(normalizeTimestamp('2024-01-02 03:04:05.123456')).toBe('2024-01-02T03:04:05.123Z');
    expect(normalizeTimestamp('2024-01-02 03:04:05.9999999')).toBe('2024-01-02T03:04:05.999Z');
    expect(normalizeTimestamp('2024-01-02 03:04:05+05:30')).toBe('2024-01-01T21:34:05.000Z');
    expect(normalizeTimestamp('2024-01-02 03:04:05-08')).toBe('2024-01-02T11:04:05.000Z');
    expect(normalizeTimestamp('1900-01-01 00:00:00+00:19:32')).toBe('1899-12-31T23:40:28.000Z');
    expect(normalizeTimestamp('0099-06-01 00:00:00')).toBe('0099-06-01T00:00:00.000Z');
    expect(normalizeTimestamp('0044-03-15 12:00:00 BC')).toBe('-000043-03-15T12:00:00.000Z');
    expect(normalizeTimestamp(new Date(Date.UTC(2024, 0, 2)))).toBe('2024-01-02T00:00:00.000Z');
  });

  it('leaves timestamps a Date cannot hold as the server wrote them', () => {
    expect(normalizeTimestamp('infinity')).toBe('infinity');
    expect(normalizeTimestamp('-infinity')).toBe('-infinity');
    expect(normalizeTimestamp('0000-00-00 00:00:00')).toBe('0000-00-00 00:00:00');
    expect(normalizeTimestamp('2024-02-30 00:00:00')).toBe('2024-02-30 00:00:00');
  });

  it('writes dates as YYYY-MM-DD', () => {
    expect(normalizeDate('2024-02-29')).toBe('2024-02-29');
    expect(normalizeDate(new Date(Date.UTC(2024, 1, 29)))).toBe('2024-02-29');
  });
});
