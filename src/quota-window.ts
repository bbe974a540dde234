/**
 * Fragments started per principal over a sliding window (`maxFragmentsPerMinute`). One queue
 * of starts in time order for all principals, and a running sum per principal: expiring a
 * start is O(1), and a principal whose starts have all left the window is forgotten, so a
 * service that sees millions of principals holds only those of the last window — and a busy
 * principal's check does not re-read every start it made in the window.
 */
export class FragmentWindow {
  readonly #windowMs: number;
  /** Starts in the order they were made: [principal, at, fragments], flattened. */
  #who: string[] = [];
  #at: number[] = [];
  #n: number[] = [];
  #head = 0;
  /** Starts dropped from the front of the arrays by compaction: a start's number is `#base` + its index. */
  #base = 0;
  readonly #used = new Map<string, number>();

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Fragments `who` started within the window that ends at `now`. */
  used(who: string, now: number): number {
    this.#expire(now);
    return this.#used.get(who) ?? 0;
  }

  /** `who` starts `fragments` at `now`; returns the start's number, for `takeBack`. */
  add(who: string, fragments: number, now: number): number {
    this.#expire(now);
    this.#who.push(who);
    this.#at.push(now);
    this.#n.push(fragments);
    this.#used.set(who, (this.#used.get(who) ?? 0) + fragments);
    return this.#base + this.#who.length - 1;
  }

  /** A start that did not happen after all (its run never began): its fragments no longer count. */
  takeBack(start: number): void {
    const i = start - this.#base;
    if (i < this.#head || i >= this.#n.length) return; // already out of the window
    const n = this.#n[i]!;
    if (n === 0) return;
    this.#n[i] = 0;
    const who = this.#who[i]!;
    const left = this.#used.get(who)! - n;
    if (left <= 0) this.#used.delete(who);
    else this.#used.set(who, left);
  }

  /** Principals with a start in the window (what the window holds). */
  get principals(): number {
    return this.#used.size;
  }

  /**
   * Drops the starts made at or before `now - windowMs`. A clock that steps back only
   * delays expiry (the queue stops at the first start still inside).
   */
  #expire(now: number): void {
    const cutoff = now - this.#windowMs;
    const at = this.#at;
    let head = this.#head;
    while (head < at.length && at[head]! <= cutoff) {
      const who = this.#who[head]!;
      const n = this.#n[head]!;
      head++;
      if (n === 0) continue; // taken back
      const left = this.#used.get(who)! - n;
      if (left <= 0) this.#used.delete(who);
      else this.#used.set(who, left);
    }
    if (head === at.length) {
      this.#base += head;
      this.#who = [];
      this.#at = [];
      this.#n = [];
      head = 0;
    } else if (head > 1024 && head * 2 > at.length) {
      // Compact once the expired prefix is most of the queue.
      this.#base += head;
      this.#who = this.#who.slice(head);
      this.#at = at.slice(head);
      this.#n = this.#n.slice(head);
      head = 0;
    }
    this.#head = head;
  }
}
