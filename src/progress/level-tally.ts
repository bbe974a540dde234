import type { ExecutionEvent } from './events.js';

/**
 * `Progress.level` worked out from a run's events alone: the lowest level with a fragment
 * not finished (succeeded, failed, skipped or dropped — a fragment the run's end cancelled
 * does not finish its level), the last level once every one has; the level whose state
 * (`executing-level-N`) the query machine is in, under either schedule. `level.started` gives
 * each level's fragment count before any event of its fragments, so a level not announced yet
 * has not finished; `query.started` gives the number of levels. Reads the stream from its
 * start; never goes down. @internal
 */
export class LevelTally {
  /** Per announced level, its fragment count. */
  readonly #sizes: number[] = [];
  /** Per level, its fragments finished so far. */
  readonly #finished: number[] = [];
  /** The plan's number of levels, once `query.started` says it. */
  #levels: number | undefined;
  #lowest = 0;

  /** Takes one event; returns the level after it. */
  note(event: ExecutionEvent): number {
    switch (event.type) {
      case 'query.started':
        this.#levels = event.levels;
        break;
      case 'level.started':
        // Without its count (an event of a version before it had one), as then: the highest level started.
        if (typeof event.fragments === 'number') this.#sizes[event.level] = event.fragments;
        else this.#lowest = Math.max(this.#lowest, event.level);
        break;
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
