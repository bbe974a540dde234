import { analyze, analyzeSvg, drawPlan, explain, layoutExplanation, remoteRuleOf, type PlanExplanation, type PlanLayout, type RemoteOption, type RemoteRule } from '../explain/index.js';
import { CallsInFlight } from '../progress/calls-in-flight.js';
import { foldEvent, logLine } from './fold.js';
import type { ExecutionEvent, LaneFigures, LogLine, Progress, QueryResult, QueryRun, QueryView } from './types.js';

/** What the page receives, as server-sent events (each `type` is the SSE event name). */
export type LiveMessage =
  | { type: 'snapshot'; queries: QueryView[]; log: LogLine[]; lanes: LaneFigures | undefined }
  | { type: 'query'; query: QueryView }
  | { type: 'fragments'; key: string; changes: QueryView['fragments'] }
  | { type: 'progress'; key: string; progress: Progress }
  | { type: 'log'; line: LogLine }
  | { type: 'lanes'; lanes: LaneFigures };

interface Entry {
  view: QueryView;
  /** The query's events, for EXPLAIN ANALYZE when a watched run ends. */
  events: ExecutionEvent[];
  /** Its calls in flight and retries waiting, per fragment: what makes a fragment running or retrying. */
  calls: CallsInFlight;
  explained?: PlanExplanation;
  /** The plan laid out once, redrawn when the critical path is known. */
  layout?: PlanLayout;
}

export interface StoreLimits {
  /** Queries kept (the oldest finished ones go first). */
  queries: number;
  /** Lines of the event log kept. */
  log: number;
  /** Events kept per query for its analysis. */
  events: number;
  /** Plans with more fragments are listed by level, not drawn (laying out costs ~1 s per 200). */
  drawnFragments: number;
}

export const DEFAULT_LIMITS: StoreLimits = { queries: 20, log: 500, events: 20_000, drawnFragments: 150 };

/**
 * The live view's state: every query seen on the executor's event stream, folded into
 * what the page draws, and the stream of changes the page listens to. A watched run is a
 * query of its own, fed from the run's own `events$`, so overlapping runs of one plan never
 * mix. Queries not watched are told apart by their events' `runId`.
 */
export class LiveStore {
  private readonly entries = new Map<string, Entry>();
  /** Run id → the key of its query, for runs not watched that have not ended yet. */
  private readonly current = new Map<string, string>();
  /** Events of watched runs, which also come through the executor's stream (after). */
  private readonly watched = new WeakSet<ExecutionEvent>();
  private readonly log: LogLine[] = [];
  private lanes: LaneFigures | undefined;
  private seq = 0;
  private readonly listeners = new Set<(message: LiveMessage) => void>();

  private readonly remoteRule: RemoteRule;

  /**
   * `redact` is applied to every text the page shows that comes from an error (the log, a
   * failed query's error), so secrets a source echoes back never reach the page. `remote` is
   * the executor's `remote` option: the sources it sends to BullMQ workers are marked remote,
   * as EXPLAIN marks them (`CONFIG_INVALID` when its `sources` is not a list of names).
   */
  constructor(
    private readonly limits: StoreLimits = DEFAULT_LIMITS,
    private readonly redact: (text: string) => string = (text) => text,
    private readonly remote?: RemoteOption,
  ) {
    this.remoteRule = remoteRuleOf(remote, 'createLiveView');
  }

  subscribe(listener: (message: LiveMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): LiveMessage {
    return { type: 'snapshot', queries: [...this.entries.values()].map((e) => e.view), log: [...this.log], lanes: this.lanes };
  }

  /** An event from `executor.events$`; a watched run's (already applied) is skipped. */
  onEvent(event: ExecutionEvent): void {
    if (this.watched.has(event)) return;
    this.apply(event.type === 'query.started' ? this.begin(event) : this.entryFor(event), event);
    // Nothing of that run comes after its end: forget it, so the map holds only running ones.
    if (event.type === 'query.done' || event.type === 'query.failed') this.current.delete(event.runId);
  }

  private apply(entry: Entry, event: ExecutionEvent): void {
    if (event.type === 'query.started') entry.view.startedAt = Date.now() - event.at;
    if (entry.events.length < this.limits.events) entry.events.push(event);
    const changed = foldEvent(entry.view, event, entry.calls, this.remoteRule);
    if (event.type === 'query.failed' && entry.view.error !== undefined) entry.view.error = this.redact(entry.view.error);
    if (changed.length > 0 && !event.type.startsWith('query.')) {
      this.emit({ type: 'fragments', key: entry.view.key, changes: Object.fromEntries(changed.map((id) => [id, { ...entry.view.fragments[id]! }])) });
    }
    if (event.type === 'query.started' || event.type === 'query.done' || event.type === 'query.failed') this.emit({ type: 'query', query: entry.view });
    const line = logLine(entry.view.key, event);
    line.text = this.redact(line.text);
    this.log.push(line);
    if (this.log.length > this.limits.log) this.log.shift();
    this.emit({ type: 'log', line });
  }

  /**
   * Follows a run of `plan`: its DAG at once (every fragment pending), its progress, and
   * EXPLAIN ANALYZE (timeline, critical path) when it ends. Call it right after
   * `executor.run()`, before the run's first event.
   */
  watch(run: QueryRun, plan: unknown): void {
    const entry = this.add(run.queryId);
    run.events$.subscribe({
      next: (event: ExecutionEvent) => {
        this.watched.add(event);
        this.apply(entry, event);
      },
      error: () => undefined,
    });
    try {
      entry.explained = explain(plan, this.remote ? { remote: this.remote } : {});
    } catch {
      // Not a plan explain() accepts (the run validated it against its sources): no DAG.
    }
    if (entry.explained) {
      for (const f of entry.explained.fragments) entry.view.fragments[f.id] ??= { source: f.source, level: f.level, state: 'pending', ...(f.remote ? { remote: true as const } : {}) };
      const n = entry.explained.fragments.length;
      if (n <= this.limits.drawnFragments) {
        entry.layout = layoutExplanation(entry.explained);
        entry.view.svg = drawPlan(entry.layout, entry.explained, { idPrefix: idOf(entry.view.key) });
      } else {
        entry.view.note = `${n} fragments: more than this page draws live (${this.limits.drawnFragments}); \`tributary explain --format svg\` draws the whole plan.`;
      }
    }
    this.emit({ type: 'query', query: entry.view });
    run.progress$.subscribe({
      next: (progress: Progress) => {
        entry.view.progress = progress;
        this.emit({ type: 'progress', key: entry.view.key, progress });
      },
      error: () => undefined,
    });
    run.result.then(
      (result: QueryResult) => {
        if (!entry.explained) return;
        const analysis = analyze(result, plan, { events: entry.events, ...(this.remote ? { remote: this.remote } : {}) });
        entry.view.timeline = analyzeSvg(analysis);
        entry.view.criticalPath = analysis.criticalPath;
        if (entry.layout) entry.view.svg = drawPlan(entry.layout, entry.explained, { idPrefix: idOf(entry.view.key), highlighted: new Set(analysis.criticalPath) });
        // Not when the query was dropped meanwhile: the page would draw it again.
        if (this.entries.get(entry.view.key) === entry) this.emit({ type: 'query', query: entry.view });
      },
      () => undefined, // cancelled: the query's end is in its events already
    );
  }

  setLanes(lanes: LaneFigures): void {
    if (JSON.stringify(lanes) === JSON.stringify(this.lanes)) return;
    this.lanes = lanes;
    this.emit({ type: 'lanes', lanes });
  }

  private entryFor(event: ExecutionEvent): Entry {
    return this.entries.get(this.current.get(event.runId) ?? '') ?? this.begin(event);
  }

  /** A new query not watched, for the events of `event`'s run from now on. */
  private begin(event: ExecutionEvent): Entry {
    const entry = this.add(event.queryId);
    this.current.set(event.runId, entry.view.key);
    return entry;
  }

  /** A new query, under a key of its own: `<plan id>#<n>`. */
  private add(queryId: string): Entry {
    const key = `${queryId}#${++this.seq}`;
    const entry: Entry = { view: { key, queryId, state: 'running', startedAt: Date.now(), fragments: {} }, events: [], calls: new CallsInFlight() };
    this.entries.set(key, entry);
    this.prune();
    return entry;
  }

  private prune(): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.limits.queries) return;
      if (entry.view.state !== 'running') this.entries.delete(key);
    }
  }

  private emit(message: LiveMessage): void {
    for (const listener of this.listeners) listener(message);
  }
}

/** A query key as an SVG id prefix. */
function idOf(key: string): string {
  return `q${key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}
