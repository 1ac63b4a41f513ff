// An sFlow row made into what the agent runs with (OVS's bridge_configure_sflow
// and sflow_choose_agent_address): OVS's defaults for what is not written,
// collectors parsed, and the agent address found. A row that cannot work is
// refused with the reason and the fix.
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { parseIpv4, parseIpv6 } from '../lib/addr.js';
import type { SflowConfig } from './db-config.js';
import { routeLookup } from './underlay.js';

/** OVS's defaults (SFL_DEFAULT_*). */
const SFLOW_DEFAULTS = { port: 6343, sampling: 400, polling: 30, header: 128 } as const;

export interface SflowCollector {
  host: string;
  port: number;
}

export interface SflowOptions {
  collectors: SflowCollector[];
  /** The agent address sent in every datagram (4 or 16 bytes). */
  agent: Buffer;
  sampling: number;
  /** Seconds between counter samples of each interface (0: none). */
  polling: number;
  header: number;
}

export class SflowConfigError extends Error {}

/** "IP:PORT", "IP" (port 6343) or "[IPv6]:PORT". */
export function parseCollector(target: string): SflowCollector {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(target) ?? /^([^:]+)(?::(\d+))?$/.exec(target);
  const host = m?.[1];
  const port = m?.[2] === undefined ? SFLOW_DEFAULTS.port : Number(m[2]);
  if (!host || !isIP(host) || !(port > 0 && port < 65536)) {
    throw new SflowConfigError(`target "${target}" is not IP:PORT (write e.g. targets="192.0.2.10:6343"; the port defaults to 6343)`);
  }
  return { host, port };
}

const addressBytes = (ip: string): Buffer => (isIP(ip) === 6 ? parseIpv6(ip) : parseIpv4(ip));

/**
 * The agent address: `agent`'s own address if it names an interface (IPv4 first), `agent`
 * itself if it is an IP address, else the source address of the route to the first collector.
 */
async function agentAddress(agent: string | undefined, collectors: readonly SflowCollector[]): Promise<Buffer> {
  if (agent) {
    const addrs = networkInterfaces()[agent];
    const a = addrs?.find((x) => x.family === 'IPv4') ?? addrs?.find((x) => x.family === 'IPv6');
    if (a) return addressBytes(a.address);
    if (isIP(agent)) return addressBytes(agent);
  }
  for (const c of collectors) {
    const src = (await routeLookup(c.host))?.src;
    if (src) return addressBytes(src);
  }
  throw new SflowConfigError(
    agent
      ? `agent "${agent}" is neither an interface with an IP address nor an IP address (set agent to one, e.g. agent=eth0)`
      : 'could not determine an IP address for the sFlow agent: no route to a target gives a source address (set agent to an interface or IP address)',
  );
}

/** What the agent runs with for `row`; throws SflowConfigError for a row that cannot work. */
export async function resolveSflow(row: SflowConfig): Promise<SflowOptions> {
  const collectors = row.targets.map(parseCollector);
  if (collectors.length === 0) throw new SflowConfigError('no targets: sFlow sends nothing (set targets="IP:PORT")');
  const positive = (name: string, v: number | undefined, fallback: number, min: number) => {
    if (v === undefined) return fallback;
    if (!Number.isInteger(v) || v < min) throw new SflowConfigError(`${name}=${v} is out of range (it must be at least ${min}; clear it for ${fallback})`);
    return v;
  };
  return {
    collectors,
    agent: await agentAddress(row.agent, collectors),
    sampling: positive('sampling', row.sampling, SFLOW_DEFAULTS.sampling, 1),
    polling: positive('polling', row.polling, SFLOW_DEFAULTS.polling, 0),
    header: positive('header', row.header, SFLOW_DEFAULTS.header, 1),
  };
}
