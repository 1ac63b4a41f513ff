// The UDP collectors a NetFlow or IPFIX row names in its targets
// (OVS's lib/collectors.c): "IP:PORT" (an IPv6 address in brackets), one
// socket for all of them. A target that does not parse is refused with a
// message naming it; the others still receive.
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { getLogger } from '../lib/log.js';

const log = getLogger('collectors');

interface Target {
  host: string;
  port: number;
}

/** Parses "IP:PORT" or "[IPv6]:PORT"; throws an error saying what a target looks like. */
function parseCollectorTarget(text: string, defaultPort?: number): Target {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  const host = m?.[1];
  const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
  if (host === undefined || !isIP(host) || port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`"${text}" is not a collector target: write IP:PORT, e.g. 127.0.0.1:2055 or [::1]:4739`);
  }
  return { host, port };
}

export class Collectors {
  private readonly targets: Target[] = [];
  private readonly v4: Socket | undefined;
  private readonly v6: Socket | undefined;
  /** Datagrams a collector refused or that could not be sent (unreachable, no route). */
  private sendErrors = 0;

  /** `what` names the row in messages (e.g. "bridge br-int: NetFlow"). */
  constructor(
    private readonly what: string,
    targets: readonly string[],
    defaultPort?: number,
  ) {
    for (const t of targets) {
      try {
        this.targets.push(parseCollectorTarget(t, defaultPort));
      } catch (e) {
        log.warn(`${what}: ${(e as Error).message}; this target is ignored`);
      }
    }
    const open = (type: 'udp4' | 'udp6') => {
      const s = createSocket(type);
      s.on('error', (e) => log.warn(`${what}: collector socket: ${e.message}`));
      s.unref();
      return s;
    };
    if (this.targets.some((t) => isIP(t.host) === 4)) this.v4 = open('udp4');
    if (this.targets.some((t) => isIP(t.host) === 6)) this.v6 = open('udp6');
  }

  /** How many targets parsed. */
  get count(): number {
    return this.targets.length;
  }

  send(datagram: Buffer): void {
    for (const t of this.targets) {
      const socket = isIP(t.host) === 4 ? this.v4 : this.v6;
      socket?.send(datagram, t.port, t.host, (e) => {
        if (!e) return;
        // A collector that is down answers with ICMP unreachable: counted, logged once.
        if (this.sendErrors++ === 0) log.warn(`${this.what}: cannot send to collector ${t.host}:${t.port}: ${e.message}`);
      });
    }
  }

  close(): void {
    this.v4?.close();
    this.v6?.close();
  }
}
