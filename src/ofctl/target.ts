/**
 * Which switch a tvs-ofctl command talks to, found as ovs-ofctl finds it (open_vconn__): a
 * target with a colon is a connection method (`tcp:IP[:PORT]`, `unix:PATH`); anything else is a
 * socket path, or a bridge name whose management socket is `$TVS_RUNDIR/BRIDGE.mgmt` (snoop:
 * `BRIDGE.snoop`). A candidate that does not exist is skipped; one that exists but refuses ends
 * the search with the reason.
 */
import { join } from 'node:path';
import { runDir } from '../lib/paths.js';

/** The words strerror() gives the errors a connection attempt meets, as ovs-ofctl prints them. */
const STRERROR: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused',
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ECONNRESET: 'Connection reset by peer',
  ENOTSOCK: 'Socket operation on non-socket',
  EPROTO: 'Protocol error',
};

/** The errno name of a failed connection: its code, or the one its message names (`connect ENOENT ...`). */
function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code ?? /\b(E[A-Z]{3,})\b/.exec((e as Error).message)?.[1];
}

function reason(e: unknown): string {
  const code = errno(e);
  return (code && STRERROR[code]) ?? (e as Error).message;
}

/** A target that could not be reached; the message is ovs-ofctl's. */
class TargetError extends Error {}

export type Connector<C> = (target: string) => Promise<C>;

/** Connects to `name` through `connect`, trying the candidates ovs-ofctl tries in its order. */
export async function openTarget<C>(name: string, connect: Connector<C>, kind: 'mgmt' | 'snoop' = 'mgmt'): Promise<C> {
  if (name.includes(':')) {
    try {
      return await connect(name);
    } catch (e) {
      throw new TargetError(`connecting to ${name} (${reason(e)})`, { cause: e });
    }
  }
  for (const path of [name, join(runDir(), `${name}.${kind}`)]) {
    try {
      return await connect(`unix:${path}`);
    } catch (e) {
      if (errno(e) === 'ENOENT') continue;
      throw new TargetError(`${path}: failed to open socket (${reason(e)})`, { cause: e });
    }
  }
  throw new TargetError(`${name} is not a bridge or a socket`);
}
