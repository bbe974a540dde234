import type { ChildProcess } from 'node:child_process';

/** The lines a child process prints on stdout, and a way to wait for one. */
export interface ChildLines {
  lines: string[];
  /** Resolves with the first line (seen so far or later) that matches; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Collects `child`'s stdout line by line; `label` names it in a timeout's message. */
export function childLines(child: ChildProcess, label: string, defaultTimeoutMs: number): ChildLines {
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
    for (const l of listeners) l();
  });
  const waitFor = (pattern: RegExp, timeoutMs = defaultTimeoutMs): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = lines.find((l) => pattern.test(l));
        if (hit === undefined) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`${label} printed no line matching ${pattern} within ${timeoutMs} ms; it printed: ${lines.join(' | ')}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  return { lines, waitFor };
}
