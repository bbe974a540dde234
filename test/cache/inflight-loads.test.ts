import { Observable, Subject, firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { InflightLoads } from '../../src/cache/index.js';

describe('InflightLoads', () => {
  it('subscribes a load once for concurrent callers, and tears it down with the last one', async () => {
    const loads = new InflightLoads();
    const source = new Subject<number>();
    let subscriptions = 0;
    let teardowns = 0;
    const load$ = new Observable<number>((sub) => {
      subscriptions++;
      const s = source.subscribe(sub);
      return () => {
        teardowns++;
        s.unsubscribe();
      };
    });
    const a = loads.share('k', load$).subscribe();
    const b = loads.share('k', load$).subscribe();
    expect([subscriptions, loads.joins, loads.size]).toEqual([1, 1, 1]);
    a.unsubscribe();
    expect(teardowns).toBe(0);
    b.unsubscribe();
    expect([teardowns, loads.size]).toEqual([1, 0]);
  });

  it('gives every caller the outcome and forgets the load once it completes', async () => {
    const loads = new InflightLoads();
    const source = new Subject<number>();
    const first = firstValueFrom(loads.share('k', source));
    const second = firstValueFrom(loads.share('k', source));
    source.next(42);
    source.complete();
    expect(await Promise.all([first, second])).toEqual([42, 42]);
    expect(loads.size).toBe(0);
  });

  it('keeps keys apart', () => {
    const loads = new InflightLoads();
    const s = new Subject<number>();
    loads.share('principal:"a":x', s).subscribe();
    loads.share('principal:"b":x', s).subscribe();
    expect([loads.size, loads.joins]).toEqual([2, 0]);
  });
});
