// Unix sockets the daemons listen on (control sockets, database sockets,
// bridges' management sockets) are for their owner only, as OVS's are: no
// other user can connect, since connecting needs write permission.
import type { Server } from 'node:net';
import { chmodSync } from 'node:fs';

/** Mode of a listening unix socket: owner read/write/connect, group may look but not connect. */
const SOCKET_MODE = 0o750;

/**
 * Starts `server` listening on socket `path` with SOCKET_MODE. The umask is tightened while
 * binding so that no other user can connect between bind and chmod.
 */
export function listenOwnerOnly(server: Server, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    let oldMask: number | undefined;
    try {
      oldMask = process.umask(0o077);
    } catch {
      // Worker threads cannot change the umask; the chmod below still applies.
    }
    try {
      server.listen(path, () => {
        server.off('error', reject);
        try {
          chmodSync(path, SOCKET_MODE);
          resolve();
        } catch (e) {
          server.close();
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    } finally {
      if (oldMask !== undefined) process.umask(oldMask);
    }
  });
}
