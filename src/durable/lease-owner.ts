import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Who holds a run's lease: `host:pid:uuid`. The host and pid let a resume on the same machine
 * tell a dead holder from a live one (see `deadOnThisHost`); the uuid keeps two executors of
 * one process apart.
 */
export function leaseOwner(): string {
  return `${hostname()}:${process.pid}:${randomUUID()}`;
}

/**
 * True when `owner` names a process on this machine that no longer exists (killed, crashed):
 * its lease need not be waited out. False for another machine's process, this process, a
 * live process, or an owner in another format — those leases run their course. (A pid reused
 * by a new process since reads as alive: the lease is then waited out, which is safe.)
 */
export function deadOnThisHost(owner: string | undefined): boolean {
  if (owner === undefined) return false;
  const [host, pidText] = owner.split(':');
  if (host !== hostname()) return false;
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
