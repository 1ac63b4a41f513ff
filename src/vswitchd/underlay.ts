// The underlay tunnels go over: the host's own routes and neighbours (TVS
// sends tunnel traffic through the host's IP stack, so there is no route
// table of its own as in OVS's userspace datapath). Read with `ip -j`, for
// the views OVS users know (ovs/route/show, ovs/route/lookup,
// tnl/neigh/show) and for a tunnel Interface's status column.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parseIpv4, parseIpv6 } from '../lib/addr.js';

const execFileAsync = promisify(execFile);

/** What `ip -j route` says of one route (the fields used here). */
interface IpRoute {
  dst: string;
  dev?: string;
  gateway?: string;
  prefsrc?: string;
  type?: string;
}

/** What `ip -j neigh` says of one neighbour. */
interface IpNeigh {
  dst: string;
  dev: string;
  lladdr?: string;
  state?: string[];
}

async function ipJson<T>(args: string[]): Promise<T[]> {
  const { stdout } = await execFileAsync('ip', ['-j', ...args], { timeout: 5000 });
  return stdout.trim() ? (JSON.parse(stdout) as T[]) : [];
}

/** Where the host sends a packet for `ip`: device, gateway (if not on-link) and source address. */
export interface Egress {
  dev: string;
  gateway?: string;
  src?: string;
}

/** The host's route to `ip` (`ip route get`), or undefined if it has none. */
export async function routeLookup(ip: string): Promise<Egress | undefined> {
  let routes: IpRoute[];
  try {
    routes = await ipJson<IpRoute>(['route', 'get', ip]);
  } catch {
    return undefined;
  }
  const r = routes[0];
  if (!r?.dev) return undefined;
  return { dev: r.dev, ...(r.gateway ? { gateway: r.gateway } : {}), ...(r.prefsrc ? { src: r.prefsrc } : {}) };
}

/** `ovs/route/lookup IP` as OVS prints it. */
export async function formatRouteLookup(ip: string): Promise<string> {
  try {
    if (ip.includes(':')) parseIpv6(ip);
    else parseIpv4(ip);
  } catch {
    throw new Error(`${ip}: not an IPv4 or IPv6 address (give the remote_ip of a tunnel, e.g. ovs/route/lookup 192.0.2.2)`);
  }
  const e = await routeLookup(ip);
  if (!e) throw new Error(`${ip}: not routable (the host has no route to it: see ip route)`);
  return `src ${e.src ?? (ip.includes(':') ? '::' : '0.0.0.0')}\ngateway ${e.gateway ?? '::'}\ndev ${e.dev}\n`;
}

/** `ovs/route/show`: the host's IPv4 and IPv6 routes, main and local tables, in OVS's "Cached:" lines. */
export async function formatRouteShow(): Promise<string> {
  const lines = ['Route Table:'];
  for (const [family, any, host] of [['-4', '0.0.0.0/0', 32], ['-6', '::/0', 128]] as const) {
    for (const table of ['main', 'local']) {
      for (const r of await ipJson<IpRoute>([family, 'route', 'show', 'table', table])) {
        if (r.type === 'broadcast' || r.type === 'multicast' || r.dst.startsWith('ff00::')) continue;
        const dst = r.dst === 'default' ? any : r.dst.includes('/') ? r.dst : `${r.dst}/${host}`;
        const gw = r.gateway ? ` GW ${r.gateway}` : '';
        const src = r.prefsrc ? ` SRC ${r.prefsrc}` : '';
        lines.push(`Cached: ${dst} dev ${r.dev ?? '?'}${gw}${src}${table === 'local' ? ' local' : ''}`);
      }
    }
  }
  return lines.join('\n') + '\n';
}

/** `tnl/neigh/show`: the host's resolved neighbours (its ARP and ND tables), in OVS's columns. */
export async function formatNeighShow(): Promise<string> {
  const lines = [`${'IP'.padEnd(46)}${'MAC'.padEnd(20)}Device`, '='.repeat(74)];
  for (const n of await ipJson<IpNeigh>(['neigh', 'show'])) {
    if (!n.lladdr || n.state?.includes('FAILED')) continue;
    lines.push(`${n.dst.padEnd(46)}${n.lladdr.padEnd(20)}${n.dev}`);
  }
  return lines.join('\n') + '\n';
}

/** Whether device `dev` has carrier, as the Interface status column's tunnel_egress_iface_carrier says. */
export function carrierOf(dev: string): 'up' | 'down' {
  try {
    return readFileSync(`/sys/class/net/${dev}/carrier`, 'utf8').trim() === '1' ? 'up' : 'down';
  } catch {
    return 'down';
  }
}
