import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's chromium for the browser tests: `CHROMIUM_PATH`, else `chromium` on the PATH.
 * `.ci/run` installs it when missing; elsewhere a test without it skips, saying why
 * (under CI=true it fails instead).
 */
export function chromiumPath(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const NO_CHROMIUM = 'no chromium found (apt-get install -y chromium, or set CHROMIUM_PATH): browser tests skipped';

/** Headless, sandbox off (CI runs as root), and nothing that would call home. */
export function launch(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}
