import type { ExecutionEvent } from './events.js';

/**
 * `Progress.level` worked out from a run's events alone: the lowest level with a fragment
 * not finished (succeeded, failed, skipped or dropped — a fragment the run's end cancelled
 * does not finish its level), the last level once every one has; the level whose state
 * (`executing-level-N`) the query machine is in, under either schedule. `level.started` gives
 * each level's fragment count before any event of its fragments, so a level not announced yet
 * has not finished; `query.started` gives the number of levels. A stream joined mid-run (no
 * `query.started` first) has not seen the levels announced before it joined: the first
 * `level.started` it sees passes over them, as finished, and `query.done` says every level
 * has. Until `query.done` it never passes the highest level the outcomes opened (one past a
 * success, a failure's or a drop's own): a fail-fast run stopped in level 1, the levels above
 * skipped, stays at 1. Never goes
 * down. @internal
 */
export class LevelTally {
  /** Per announced level, its fragment count. */
  readonly #sizes: number[] = [];
  /** Per level, its fragments finished so far. */
  readonly #finished: number[] = [];
  /** The plan's number of levels, once `query.started` says it. */
  #levels: number | undefined;
  /** A `level.started` was seen. */
  #announced = false;
  #lowest = 0;
  /** The highest level the outcomes opened (see `note`): the level never passes it. */
  #reached = 0;

  /** Takes one event; returns the level after it. */
  note(event: ExecutionEvent): number {
    // A success opens the next level; a failure or a drop only its own; a skip none.
    const reach = event.type === 'fragment.succeeded' ? event.level + 1 : event.type === 'fragment.failed' || event.type === 'fragment.dropped' ? event.level : 0;
    if (reach > this.#reached) this.#reached = reach;
    return Math.min(this.#note(event), this.#reached);
  }

  #note(event: ExecutionEvent): number {
    switch (event.type) {
      case 'query.started':
        this.#levels = event.levels;
        break;
      case 'level.started': {
        const counted = typeof event.fragments === 'number';
        if (counted) this.#sizes[event.level] = event.fragments;
        // Without its count (an event of a version before it had one), as then: the highest level
        // started. The first one of a stream joined mid-run: the levels below it went before.
        if (!counted || (this.#levels === undefined && !this.#announced)) {
          this.#lowest = Math.max(this.#lowest, event.level);
          this.#reached = Math.max(this.#reached, event.level);
        }
        this.#announced = true;
        break;
      }
      case 'query.done':
        this.#reached = Infinity;
        // Every fragment has finished: the last level (joined mid-run, the highest one seen).
        this.#lowest = Math.max(this.#lowest, (this.#levels ?? Math.max(this.#sizes.length, this.#finished.length)) - 1);
        return this.#lowest;
      case 'fragment.succeeded':
      case 'fragment.failed':
      case 'fragment.skipped':
      case 'fragment.dropped':
        this.#finished[event.level] = (this.#finished[event.level] ?? 0) + 1;
        break;
      default:
        return this.#lowest;
    }
    // Past a finished level, up to the last one (unknown levels count as not there yet).
    const last = (this.#levels ?? this.#sizes.length) - 1;
    while (this.#lowest < last && this.#finishedLevel(this.#lowest)) this.#lowest++;
    return this.#lowest;
  }

  #finishedLevel(level: number): boolean {
    const size = this.#sizes[level];
    return size !== undefined && (this.#finished[level] ?? 0) >= size;
  }
}
