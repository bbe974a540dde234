import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FragmentWindow } from '../src/quota-window.js';

describe('FragmentWindow (maxFragmentsPerMinute)', () => {
  it('counts what each principal started in the window, as a list of every start would', () => {
    const step = fc.record({ who: fc.constantFrom('a', 'b', 'c', '__proto__'), n: fc.integer({ min: 1, max: 5 }), dt: fc.integer({ min: 0, max: 400 }), add: fc.boolean() });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 3000 }), (steps) => {
        const windowMs = 1000;
        const window = new FragmentWindow(windowMs);
        const starts: { who: string; at: number; n: number }[] = [];
        let now = 0;
        for (const s of steps) {
          now += s.dt;
          const expected = starts.filter((e) => e.who === s.who && e.at > now - windowMs).reduce((sum, e) => sum + e.n, 0);
          expect(window.used(s.who, now)).toBe(expected);
          if (s.add) {
            window.add(s.who, s.n, now);
            starts.push({ who: s.who, at: now, n: s.n });
          }
          expect(window.principals).toBe(new Set(starts.filter((e) => e.at > now - windowMs).map((e) => e.who)).size);
        }
      }),
    );
  });

  it('forgets principals whose starts have left the window: a million one-off principals hold nothing', () => {
    const window = new FragmentWindow(60_000);
    for (let i = 0; i < 1_000_000; i++) window.add(`user-${i}`, 1, i);
    expect(window.principals).toBe(60_000);
    expect(window.used('user-0', 1_000_000)).toBe(0);
    expect(window.used('user-999999', 1_000_000)).toBe(1);
    window.used('anyone', 2_000_000);
    expect(window.principals).toBe(0);
  });
});

describe('FragmentWindow.takeBack', () => {
  it('uncounts one start, also after the queue was compacted, and only once', () => {
    const w = new FragmentWindow(100);
    for (let i = 0; i < 3000; i++) w.add(`p${i}`, 1, i);
    const mine = w.add('alice', 5, 3000);
    w.add('alice', 2, 3000);
    expect(w.used('alice', 3050)).toBe(7); // most of the queue expired and was compacted
    w.takeBack(mine);
    w.takeBack(mine);
    expect(w.used('alice', 3050)).toBe(2);
    expect(w.used('alice', 3100)).toBe(0);
    expect(w.principals).toBe(0);
    w.takeBack(mine); // long gone: nothing happens
    expect(w.used('alice', 3100)).toBe(0);
  });
});
