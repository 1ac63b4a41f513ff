// Controller rows: passive OpenFlow listeners (ptcp:PORT[:IP], punix:PATH)
// are opened and report who is connected. Speaking OpenFlow on them comes
// with the OpenFlow layer; until then a connection is accepted and held.
import { createServer, type Server, type Socket } from 'node:net';
import { mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { getLogger } from '../lib/log.js';
import type { ControllerConfig } from './db-config.js';

const log = getLogger('connmgr');

interface Listener {
  server: Server;
  connections: Set<Socket>;
  /** Bound TCP port, reported as status:bound_port as OVS does. */
  boundPort?: number;
  error?: string;
}

export interface ControllerStatus {
  uuid: string;
  isConnected: boolean;
  status: Record<string, string>;
}

export class Controllers {
  private readonly listeners = new Map<string, Listener>();
  private readonly uuids = new Map<string, string>();

  /** Open listeners for every passive target of `controllers`, close the others. */
  async apply(controllers: ControllerConfig[]): Promise<void> {
    const wanted = new Set(controllers.map((c) => c.target));
    for (const [target, l] of this.listeners) {
      if (!wanted.has(target)) {
        this.close(target, l);
      }
    }
    this.uuids.clear();
    for (const c of controllers) {
      this.uuids.set(c.target, c.uuid);
      if (!this.listeners.has(c.target)) this.listeners.set(c.target, await open(c.target));
    }
  }

  status(): ControllerStatus[] {
    return [...this.listeners].flatMap(([target, l]) => {
      const uuid = this.uuids.get(target);
      if (!uuid) return [];
      const status: Record<string, string> = {};
      if (l.boundPort !== undefined) status.bound_port = String(l.boundPort);
      if (l.error) status.last_error = l.error;
      return [{ uuid, isConnected: l.connections.size > 0, status }];
    });
  }

  private close(target: string, l: Listener): void {
    for (const s of l.connections) s.destroy();
    l.server.close();
    if (target.startsWith('punix:')) {
      try {
        unlinkSync(target.slice('punix:'.length));
      } catch {
        // gone
      }
    }
    this.listeners.delete(target);
  }

  closeAll(): void {
    for (const [target, l] of [...this.listeners]) this.close(target, l);
  }
}

async function open(target: string): Promise<Listener> {
  const l: Listener = { server: createServer(), connections: new Set() };
  l.server.on('connection', (s) => {
    l.connections.add(s);
    s.on('error', () => undefined);
    s.on('close', () => l.connections.delete(s));
    log.info(`${target}: controller connected`);
  });
  const m = /^ptcp:(\d+)(?::(.+))?$/.exec(target);
  try {
    if (m) {
      await listen(l.server, () => l.server.listen(Number(m[1]), m[2] ?? '0.0.0.0'));
      const addr = l.server.address();
      if (addr && typeof addr === 'object') l.boundPort = addr.port;
    } else if (target.startsWith('punix:')) {
      const path = target.slice('punix:'.length);
      mkdirSync(dirname(path), { recursive: true });
      try {
        unlinkSync(path);
      } catch {
        // no stale socket
      }
      await listen(l.server, () => l.server.listen(path));
    } else {
      // Active targets (tcp:, unix:) connect out once the OpenFlow layer exists.
      l.error = `${target}: only passive targets (ptcp:, punix:) are supported so far`;
    }
  } catch (e) {
    l.error = `${target}: ${(e as Error).message}`;
    log.warn(l.error);
  }
  return l;
}

function listen(server: Server, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
    start();
  });
}
