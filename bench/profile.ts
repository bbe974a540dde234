import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { SourceMap, findSourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Row, SourceExecutor } from '../src/index.js';
import { memoryRig } from './orchestration.js';
import { fmt, type BenchContext } from './report.js';
import { ROOT, report, runChild } from './spawn.js';

/**
 * `node --cpu-prof` on the a1 workload, summarized as self time per function (mapped back
 * to the TypeScript line through tsx's source maps) and per file.
 *
 * A tributary run never yields to the event loop (every step is a microtask), so a run
 * that cannot finish in time cannot be stopped from inside either, and `--cpu-prof` only
 * writes its profile at exit. The capped profile therefore wraps the memory source so that
 * each call resolves on `setImmediate`: still zero latency, but a timer can end the
 * process (and write the profile) at the cap.
 */

interface CpuProfile {
  /** Microseconds on the monotonic clock (the one process.hrtime reads). */
  startTime: number;
  endTime: number;
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

interface ProfileRun {
  n: number;
  /** When the measured run started (after module loading and warm-up), in profile time (µs). */
  startUs: number;
  finished: boolean;
  elapsedMs: number;
  completedCalls: number;
}

/** Child task: one a1 run of `n` fragments under --cpu-prof; stops at `capMs` (0: never). */
export async function profileChild(args: string[]): Promise<void> {
  const n = Number(args[0]);
  const capMs = Number(args[1]);
  const dir = args[2]!;
  let completedCalls = 0;
  const counting = (source: SourceExecutor): SourceExecutor => ({
    ...source,
    execute: async (query, ctx) => {
      if (capMs > 0) await new Promise((resolve) => setImmediate(resolve));
      // The memory source answers with an array, never an async iterable.
      const rows = (await source.execute(query, ctx)) as Row[];
      completedCalls++;
      return rows;
    },
  });
  const rig = memoryRig(counting);
  // Warm up (module loading, JIT) outside the window the summary reads.
  const small = rig.planOf(100).plan;
  for (let i = 0; i < 5; i++) await rig.executor.execute(small);
  completedCalls = 0;
  const startUs = Number(process.hrtime.bigint() / 1000n);
  const t0 = performance.now();
  const finish = (finished: boolean): void => {
    dumpSourceMaps(join(dir, 'sourcemaps.json'));
    report({ n, startUs, finished, elapsedMs: performance.now() - t0, completedCalls } satisfies ProfileRun);
    // process.exit (not a kill) so that --cpu-prof writes the profile.
    process.exit(0);
  };
  if (capMs > 0) setTimeout(() => finish(false), capMs);
  await rig.executor.execute(rig.planOf(n).plan);
  finish(true);
}

/** A project file as the profiled process loaded it: tsx's source map and the source text. */
interface LoadedFile {
  map: unknown;
  text: string;
}

/**
 * The source maps tsx registered for the project's files, with their text (tsx's maps carry
 * no sourcesContent), so the parent can name frames even if a file changes meanwhile.
 */
function dumpSourceMaps(path: string): void {
  const files: Record<string, LoadedFile> = {};
  for (const dir of ['src', 'machines', 'bench']) {
    for (const file of readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      const url = pathToFileURL(join(ROOT, dir, file)).href;
      const map = findSourceMap(url);
      if (map) files[url] = { map: map.payload, text: readFileSync(join(ROOT, dir, file), 'utf8') };
    }
  }
  writeFileSync(path, JSON.stringify(files));
}

interface Hot {
  label: string;
  where: string;
  selfMs: number;
}

function location(url: string): string {
  if (url === '') return '';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (path.startsWith('node:')) return path;
  const inModules = path.lastIndexOf('node_modules/');
  if (inModules >= 0) return path.slice(inModules + 'node_modules/'.length);
  return relative(ROOT, path);
}

/** Which bucket a file's time goes to in the per-file table: a project file, a package, Node itself. */
function bucket(where: string, fn: string): string {
  if (where === '') return fn; // (garbage collector), (program), (idle)
  if (where.startsWith('node:')) return 'node: internals';
  const pkg = /^((?:@[^/]+\/)?[^/]+)\//.exec(where);
  if (!where.startsWith('src/') && !where.startsWith('machines/') && !where.startsWith('bench/') && pkg) return `${pkg[1]} (package)`;
  return where.replace(/:\d+$/, '');
}

export interface ProfileSummary {
  totalMs: number;
  top: { fn: string; where: string; pct: number }[];
  byFile: { file: string; pct: number }[];
}

/** Self time per function and per file, in % of all non-idle samples taken from `fromUs` on. */
export function summarize(profile: CpuProfile, files: Record<string, LoadedFile>, fromUs: number, topN = 10): ProfileSummary {
  const self = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at >= fromUs) self.set(id, (self.get(id) ?? 0) + delta);
  });
  const sourceMaps = new Map<string, SourceMap>();
  const mapOf = (url: string): SourceMap | undefined => {
    const file = files[url];
    if (!file) return undefined;
    let m = sourceMaps.get(url);
    if (!m) sourceMaps.set(url, (m = new SourceMap(file.map as never)));
    return m;
  };
  const lines = new Map<string, string[]>();
  const sourceLine = (url: string, line: number): string => {
    if (!lines.has(url)) lines.set(url, (files[url]?.text ?? '').split('\n'));
    return (lines.get(url)![line] ?? '').trim().slice(0, 70);
  };

  const byFunction = new Map<string, Hot>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const t = (self.get(node.id) ?? 0) / 1000;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    if (t === 0 || functionName === '(idle)') continue;
    total += t;
    let where = location(url);
    let line = lineNumber;
    const entry = mapOf(url)?.findEntry(lineNumber, columnNumber) as { originalLine?: number } | undefined;
    if (entry?.originalLine !== undefined) line = entry.originalLine;
    if (where !== '' && !where.startsWith('node:')) where = `${where}:${line + 1}`;
    let label = functionName || '(anonymous)';
    if (label === '(anonymous)' && url in files) label = `(anonymous) \`${sourceLine(url, line)}\``;
    const key = `${label}\u0000${where}`;
    const hot = byFunction.get(key) ?? { label, where, selfMs: 0 };
    hot.selfMs += t;
    byFunction.set(key, hot);
    const b = bucket(where, label);
    byFile.set(b, (byFile.get(b) ?? 0) + t);
  }
  const pct = (v: number): number => (100 * v) / total;
  return {
    totalMs: total,
    top: [...byFunction.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, topN).map((h) => ({ fn: h.label, where: h.where, pct: pct(h.selfMs) })),
    byFile: [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([file, v]) => ({ file, pct: pct(v) })),
  };
}

function readProfile(dir: string): { profile: CpuProfile; files: Record<string, LoadedFile> } {
  const files = JSON.parse(readFileSync(join(dir, 'sourcemaps.json'), 'utf8')) as Record<string, LoadedFile>;
  // --cpu-prof also profiles the module-loader thread; the main thread is the one running machines/.
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    if (profile.nodes.some((n) => n.callFrame.url.includes('/machines/'))) return { profile, files };
  }
  throw new Error(`no main-thread profile in ${dir}`);
}

/** Profiles a1 at 1,000 fragments (to the end) and 10,000 (the first `capMs`); Markdown for RESULTS.md. */
export async function profiles(ctx: BenchContext, capMs = 30_000): Promise<string[]> {
  const out: string[] = [];
  for (const [n, cap] of [
    [1000, 0],
    [10_000, capMs],
  ] as const) {
    ctx.log(`profile: a1 at ${n} fragments${cap > 0 ? ` (first ${cap / 1000} s)` : ''}`);
    const dir = mkdtempSync(join(tmpdir(), `tributary-prof-${n}-`));
    const child = await runChild<ProfileRun>('profile', [String(n), String(cap), dir], {
      nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
      capMs: cap + 120_000,
    });
    const run = child.results[0];
    if (!run) throw new Error(`profile child at ${n} printed nothing`);
    const { profile, files } = readProfile(dir);
    // The child's clock and the profiler's are both CLOCK_MONOTONIC; if not, keep every sample.
    const inWindow = run.startUs > profile.startTime && run.startUs < profile.endTime;
    const s = summarize(profile, files, inWindow ? run.startUs : profile.startTime);
    if (!inWindow) ctx.log(`profile at ${n}: the run's start is outside the profile's clock; summarizing every sample`);
    const what = (inWindow ? '' : 'module loading and warm-up included; ') + (run.finished
      ? `the whole run (${(run.elapsedMs / 1000).toFixed(1)} s)`
      : `the first ${(run.elapsedMs / 1000).toFixed(0)} s of the run, which did not finish: ${run.completedCalls.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} source calls done (each call resolves on setImmediate so a timer can stop it)`);
    out.push(
      `### a1 at ${n.toLocaleString('en-US')} fragments: ${what}; ${(s.totalMs / 1000).toFixed(1)} s sampled, profile in \`${dir}\``,
      '',
      '| self % | function | where |',
      '|---|---|---|',
      ...s.top.map((t) => `| ${fmt(t.pct, 1)} | ${t.fn.replace(/\|/g, '\\|')} | ${t.where} |`),
      '',
      'Self time by file:',
      '',
      '| self % | file |',
      '|---|---|',
      ...s.byFile.map((f) => `| ${fmt(f.pct, 1)} | ${f.file} |`),
      '',
    );
  }
  return out;
}
