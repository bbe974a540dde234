import { describe, expect, it } from 'vitest';
import { classifyStatus, parseRetryAfter } from '../../src/sources/http/errors.js';
import { nextLink } from '../../src/sources/http/paginate.js';
import { isJsonPointer, resolvePointer } from '../../src/sources/http/pointer.js';

describe('resolvePointer', () => {
  const doc = JSON.parse('{"a":{"b/c":[10,{"~d":true}]},"__proto__":{"x":1}}') as unknown;

  it('follows RFC 6901 tokens with ~0 and ~1 escapes', () => {
    expect(resolvePointer(doc, '')).toBe(doc);
    expect(resolvePointer(doc, '/a/b~1c/0')).toBe(10);
    expect(resolvePointer(doc, '/a/b~1c/1/~0d')).toBe(true);
    expect(resolvePointer(doc, '/__proto__/x')).toBe(1);
  });

  it('answers undefined for missing keys, bad indexes and inherited members', () => {
    for (const pointer of ['/nope', '/a/b~1c/2', '/a/b~1c/01', '/a/b~1c/-', '/a/constructor', '/a/b~1c/length', '/a/b~1c/0/x']) {
      expect(resolvePointer(doc, pointer)).toBeUndefined();
    }
  });

  it('checks the syntax', () => {
    expect(isJsonPointer('/data/items')).toBe(true);
    expect(isJsonPointer('data')).toBe(false);
    expect(isJsonPointer('/a~2')).toBe(false);
  });
});

describe('nextLink', () => {
  it('finds rel="next" among several links, quoted or not, with multiple rel types', () => {
    expect(nextLink('<https://x/p?a=1,2>; rel="prev", <https://x/p?page=3>; rel="next"')).toBe('https://x/p?page=3');
    expect(nextLink('</items?page=2>; rel=next')).toBe('/items?page=2');
    expect(nextLink('</items?page=2>; title="x"; rel="last next"')).toBe('/items?page=2');
    expect(nextLink('</items?page=9>; rel="last"')).toBeUndefined();
    expect(nextLink(null)).toBeUndefined();
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it('reads delta-seconds and HTTP dates, never negative', () => {
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    // Past what a timer can wait (Node would fire it after 1 ms): the longest it can.
    expect(parseRetryAfter('3000000', now)).toBe(2 ** 31 - 1);
    expect(parseRetryAfter('99999999999999999999', now)).toBe(2 ** 31 - 1);
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', now)).toBe(2 ** 31 - 1);
  });
});

describe('classifyStatus', () => {
  it('retries only statuses that say "try again"', () => {
    expect([408, 429, 502, 503, 504].map((s) => classifyStatus(s).retryable)).toEqual([true, true, true, true, true]);
    expect([400, 401, 404, 409, 500, 501].map((s) => classifyStatus(s))).toEqual(
      Array.from({ length: 6 }, () => ({ code: 'FRAGMENT_FAILED', retryable: false })),
    );
  });
});
