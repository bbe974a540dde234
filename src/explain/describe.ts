import type { BoundInput, FragmentExplanation, PlanWideSettings } from './model.js';

/** Shared wording of the renderings. */

/** `crm (sqlite)`, `shop (postgres, remote)`, `shop (remote)` or `crm` when the kind is unknown. */
export function sourceText(f: Pick<FragmentExplanation, 'source' | 'sourceKind' | 'remote'>): string {
  const notes = [f.sourceKind === undefined || f.sourceKind === f.source ? '' : f.sourceKind, f.remote ? 'remote' : ''].filter(Boolean);
  return notes.length === 0 ? f.source : `${f.source} (${notes.join(', ')})`;
}

/** `params[0] ← customers.id, in batches of 500` or `params[1] ← $region`. */
export function inputText(input: BoundInput): string {
  if (input.kind === 'param') return `${input.path} ← $${input.name}`;
  const batch = input.batchSize === undefined ? '' : `, in batches of ${input.batchSize}`;
  return `${input.path} ← ${input.fragment}.${input.column}${batch}`;
}

/**
 * `timeout 2000 ms, deadline 500 ms, retry attempts=5, cache ttl 0 ms, hedge afterMs=30,
 * optional: dropped if the deadline runs out`, or '' when the fragment overrides nothing.
 */
export function policyText(f: Pick<FragmentExplanation, 'timeoutMs' | 'deadlineMs' | 'retry' | 'cache' | 'hedge' | 'optional'>): string {
  const parts: string[] = [];
  if (f.timeoutMs !== undefined) parts.push(`timeout ${f.timeoutMs} ms`);
  if (f.deadlineMs !== undefined) parts.push(`deadline ${f.deadlineMs} ms`);
  if (f.retry !== undefined) {
    const retry = Object.entries(f.retry).map(([k, v]) => `${k}=${String(v)}`).join(' ');
    parts.push(`retry ${retry || 'defaults'}`);
  }
  if (f.cache === false) parts.push('no cache');
  else if (f.cache !== undefined) {
    const cache = [f.cache.ttlMs === undefined ? '' : `ttl ${f.cache.ttlMs} ms`, f.cache.tags?.length ? `tags ${f.cache.tags.join(', ')}` : ''].filter(Boolean);
    parts.push(`cache ${cache.join(', ') || 'defaults'}`);
  }
  if (f.hedge === false) parts.push('no hedge');
  else if (f.hedge !== undefined) {
    const hedge = Object.entries(f.hedge).map(([k, v]) => `${k}=${String(v)}`).join(' ');
    parts.push(`hedge ${hedge || 'defaults'}`);
  }
  if (f.optional) parts.push('optional: dropped if the deadline runs out');
  return parts.join(', ');
}

/**
 * `every fragment (unless it sets its own): timeout 500 ms, no cache, limits maxRows=10`, or
 * undefined when the plan sets nothing for all its fragments.
 */
export function planWideText(settings: PlanWideSettings | undefined): string | undefined {
  if (settings === undefined) return undefined;
  const limits = settings.limits && Object.entries(settings.limits).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  const parts = [policyText(settings), limits ? `limits ${limits}` : ''].filter(Boolean);
  return `every fragment (unless it sets its own): ${parts.join(', ')}`;
}

/** The label of a dependency edge: the bound columns, with the batch size when split. */
export function edgeText(columns: readonly string[], to: FragmentExplanation | undefined, from: string): string {
  const batched = to?.inputs.find((i) => i.kind === 'column' && i.fragment === from && i.batchSize !== undefined);
  const size = batched?.kind === 'column' ? batched.batchSize : undefined;
  return columns.join(', ') + (size === undefined ? '' : ` (batches of ${size})`);
}

/** Milliseconds with one decimal. */
export function ms(n: number): string {
  return n.toFixed(1);
}
