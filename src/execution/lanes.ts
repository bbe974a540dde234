import { Observable } from 'rxjs';
import type { AdaptiveLimit } from './adaptive-limit.js';
import type { Clock, TimerHandle } from './clock.js';
import type { Lane, LaneClient, LaneOptions, LaneStats, LaneTicket } from './lane-types.js';

export type { Lane, LaneClient, LaneOptions, LaneStats, LaneTicket, ShedReason } from './lane-types.js';

const enum State {
  Waiting,
  Holding,
  Done,
}

const NO_CLIENT: LaneClient = { granted: () => undefined };
/** Left tickets a lane's queue array may hold beyond twice the waiting ones before it is compacted. */
const COMPACT_SLACK = 64;

class Ticket implements LaneTicket {
  state = State.Waiting;
  /** When it joined the queue (only read with `maxQueueMs`). */
  queuedAt = 0;
  constructor(
    readonly lane: SemaphoreLane,
    public client: LaneClient,
  ) {}

  release(later = false): void {
    if (this.state === State.Done) return;
    const held = this.state === State.Holding;
    this.state = State.Done;
    if (!held) {
      this.lane.left(this);
      return;
    }
    // A query being stopped releases all its tickets in one synchronous sweep: its waiting
    // tickets must be marked done before a freed slot would start one of them.
    if (later) queueMicrotask(() => this.lane.free());
    else this.lane.free();
  }
}

class SemaphoreLane implements Lane {
  running = 0;
  queued = 0;
  closed = false;
  limit: number;
  readonly adaptive: AdaptiveLimit | undefined;
  readonly #maxQueued: number;
  readonly #maxQueueMs: number;
  readonly #clock: Clock | undefined;
  #shedTimer: TimerHandle | undefined;
  readonly #queue: (Ticket | undefined)[] = [];
  #head = 0;

  constructor(limit: number, options: LaneOptions = {}) {
    this.adaptive = options.adaptive;
    this.limit = options.adaptive ? options.adaptive.limit : limit;
    this.#maxQueued = options.maxQueued ?? Infinity;
    this.#maxQueueMs = options.clock ? (options.maxQueueMs ?? Infinity) : Infinity;
    this.#clock = options.clock;
  }

  acquire(client: LaneClient): LaneTicket {
    const ticket = new Ticket(this, client);
    if (this.closed) {
      ticket.state = State.Done;
      return ticket;
    }
    if (this.running < this.limit) {
      this.running++;
      ticket.state = State.Holding;
      client.granted();
      return ticket;
    }
    if (this.queued >= this.#maxQueued) {
      ticket.state = State.Done;
      client.shed?.({ kind: 'queue-full', maxQueued: this.#maxQueued });
      return ticket;
    }
    this.queued++;
    this.#queue.push(ticket);
    if (this.#maxQueueMs !== Infinity) {
      ticket.queuedAt = this.#clock!.now();
      this.#shedTimer ??= this.#clock!.setTimeout(() => this.#shedLate(), this.#maxQueueMs);
    }
    return ticket;
  }

  tryAcquire(): LaneTicket | undefined {
    if (this.closed || this.running >= this.limit) return undefined;
    this.running++;
    const ticket = new Ticket(this, NO_CLIENT);
    ticket.state = State.Holding;
    return ticket;
  }

  sample(startedAt: number, rttMs: number, inflight: number, overload: boolean): number | undefined {
    const adaptive = this.adaptive;
    if (!adaptive) return undefined;
    const previous = this.limit;
    const next = adaptive.sample(startedAt, rttMs, inflight, overload);
    if (next === previous) return undefined;
    this.limit = next;
    // A higher limit starts waiting calls now; a lower one lets running calls finish.
    if (next > previous) this.#drain();
    return previous;
  }

  /**
   * A waiting ticket left the queue (its call was stopped). It stays in the queue array until
   * the head passes it, which, while every slot is held by long calls, may be a long time:
   * it lets go of its client at once (the client reaches the whole run: its rows, its
   * actors), and once left tickets are most of the array, the array is compacted — so a
   * saturated lane holds what is still waiting, not every run that gave up waiting.
   */
  left(ticket: Ticket): void {
    this.queued--;
    ticket.client = NO_CLIENT;
    const queue = this.#queue;
    if (queue.length - this.#head <= 2 * this.queued + COMPACT_SLACK) return;
    let kept = 0;
    for (let i = this.#head; i < queue.length; i++) {
      const t = queue[i];
      if (t && t.state === State.Waiting) queue[kept++] = t;
    }
    queue.length = kept;
    this.#head = 0;
  }

  get backlog(): number {
    return this.#queue.length - this.#head;
  }

  /** A slot came back: start the oldest ticket still waiting, if any. */
  free(): void {
    this.running--;
    this.#drain();
  }

  /** Starts waiting tickets while there are free slots. */
  #drain(): void {
    while (this.#head < this.#queue.length && this.running < this.limit && !this.closed) {
      const next = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
      if (!next || next.state !== State.Waiting) continue;
      this.queued--;
      this.running++;
      next.state = State.Holding;
      next.client.granted();
    }
  }

  /**
   * The queue-wait timer fired: sheds every waiting ticket older than `maxQueueMs` (the
   * queue is FIFO, so they are at its head), then sets one timer for the next oldest. One
   * timer per lane, not one per waiting call.
   */
  #shedLate(): void {
    this.#shedTimer = undefined;
    const now = this.#clock!.now();
    while (this.#head < this.#queue.length) {
      const t = this.#queue[this.#head];
      if (t && t.state === State.Waiting) {
        const due = t.queuedAt + this.#maxQueueMs;
        if (due > now) {
          this.#shedTimer = this.#clock!.setTimeout(() => this.#shedLate(), due - now);
          return;
        }
        t.state = State.Done;
        this.queued--;
        // Out of the array before its client hears: shedding may stop other waiting calls, whose leaving may compact it.
        this.#queue[this.#head++] = undefined;
        t.client.shed?.({ kind: 'queue-timeout', maxQueueMs: this.#maxQueueMs });
        continue;
      }
      this.#queue[this.#head++] = undefined;
    }
    this.#queue.length = 0;
    this.#head = 0;
  }

  schedule<T>(work: Observable<T>): Observable<T> {
    return new Observable<T>((subscriber) => {
      let inner: { unsubscribe(): void } | undefined;
      let ended = false;
      // Set once `acquire` returns: the work may end (and release) before that.
      const held: { ticket?: LaneTicket } = {};
      const end = (): void => {
        ended = true;
        held.ticket?.release();
      };
      const ticket = this.acquire({
        granted: () => {
          inner = work.subscribe({
          next: (value) => subscriber.next(value),
          error: (error: unknown) => {
            end();
            subscriber.error(error);
          },
          complete: () => {
            end();
            subscriber.complete();
          },
          });
        },
      });
      held.ticket = ticket;
      // The work may have ended while `acquire` ran it.
      if (ended) ticket.release();
      return () => {
        inner?.unsubscribe();
        ticket.release(true);
      };
    });
  }

  stats(): LaneStats {
    return { limit: this.limit, running: this.running, queued: this.queued };
  }

  close(): void {
    this.closed = true;
    if (this.#shedTimer !== undefined) this.#clock!.clearTimeout(this.#shedTimer);
    this.#shedTimer = undefined;
    for (let i = this.#head; i < this.#queue.length; i++) {
      const t = this.#queue[i];
      if (t && t.state === State.Waiting) t.state = State.Done;
    }
    this.#queue.length = 0;
    this.#head = 0;
    this.queued = 0;
  }
}

/**
 * Creates a lane of `limit` slots (`Infinity` for no cap); with `options.adaptive`, the
 * limit is the adaptive one's instead.
 */
export function createLane(limit = Infinity, options?: LaneOptions): Lane {
  return new SemaphoreLane(limit, options);
}
