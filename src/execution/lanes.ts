import { Observable } from 'rxjs';

/** Occupancy of one lane. */
export interface LaneStats {
  limit: number;
  running: number;
  queued: number;
}

/** Who waits for a slot: `granted()` is called when it has one. */
export interface LaneClient {
  granted(): void;
}

/** A slot asked of a lane: held once `granted` has been called, until it is released. */
export interface LaneTicket {
  /** Gives the slot back (or leaves the queue). `later`: hand it on at the next microtask. */
  release(later?: boolean): void;
}

/**
 * A concurrency lane shared by every fragment of every query of an executor: at most
 * `limit` holders at once, the rest wait in FIFO order.
 *
 * A counter and a queue rather than RxJS's `mergeMap(…, limit)` over a subject of jobs:
 * measured here, a job through `mergeMap` cost 12–19 µs (an inner subscription per job,
 * and `Array#shift` on its buffer, O(n) when thousands wait), a counter 0.4 µs, and the
 * lane is on every source call's path. `schedule()` still offers it as an RxJS operator.
 */
export interface Lane {
  /** Calls `client.granted()` when a slot is free — at once if one is. */
  acquire(client: LaneClient): LaneTicket;
  /** Runs `work` when a slot is free; unsubscribing frees the slot or leaves the queue. */
  schedule<T>(work: Observable<T>): Observable<T>;
  stats(): LaneStats;
  /** Stops accepting work; queued jobs never start. */
  close(): void;
}

const enum State {
  Waiting,
  Holding,
  Done,
}

class Ticket implements LaneTicket {
  state = State.Waiting;
  constructor(
    readonly lane: SemaphoreLane,
    readonly client: LaneClient,
  ) {}

  release(later = false): void {
    if (this.state === State.Done) return;
    const held = this.state === State.Holding;
    this.state = State.Done;
    if (!held) {
      this.lane.queued--;
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
  readonly #queue: (Ticket | undefined)[] = [];
  #head = 0;

  constructor(readonly limit: number) {}

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
    this.queued++;
    this.#queue.push(ticket);
    return ticket;
  }

  /** A slot came back: start the oldest ticket still waiting, if any. */
  free(): void {
    this.running--;
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
    for (let i = this.#head; i < this.#queue.length; i++) {
      const t = this.#queue[i];
      if (t && t.state === State.Waiting) t.state = State.Done;
    }
    this.#queue.length = 0;
    this.#head = 0;
    this.queued = 0;
  }
}

/** Creates a lane of `limit` slots (`Infinity` for no cap). */
export function createLane(limit = Infinity): Lane {
  return new SemaphoreLane(limit);
}
