// The bridges' sFlow agents, made from their sFlow rows (OVS's
// bridge_configure_sflow): an agent starts, restarts with a changed row, and
// stops with the row or the bridge; each start or stop revalidates the
// bridge's flows so the sample action comes and goes at once. Sampled frames
// reach the agent of the bridge they came in on.
import { readFileSync } from 'node:fs';
import type { Datapath } from '../datapath/dpif.js';
import { USERDATA_KIND } from '../datapath/userdata.js';
import { getLogger } from '../lib/log.js';
import type { OfprotoDpif } from '../ofproto/ofproto-dpif.js';
import type { XBridge } from '../ofproto/xbridge.js';
import type { SflowConfig } from './db-config.js';
import { SflowAgent, type SflowPort } from './sflow-agent.js';
import { SflowConfigError, resolveSflow } from './sflow-config.js';
import { carrierOf } from './underlay.js';

const log = getLogger('sflow');

interface Running {
  /** The row as last applied, so an unchanged row leaves its agent alone. */
  applied: string;
  agent?: SflowAgent;
}

export class BridgeSflows {
  private readonly running = new Map<string, Running>();
  /** OVS numbers agents per bridge in creation order (the sub-agent id). */
  private nextSubAgentId = 0;

  constructor(private readonly of: OfprotoDpif) {
    of.onUserspace(USERDATA_KIND.sflow, (up) => {
      if (up.bridge) this.running.get(up.bridge.name)?.agent?.sample(up);
    });
  }

  /** Runs bridge `xb`'s sFlow row (none: stops its agent). */
  async apply(xb: XBridge, row: SflowConfig | undefined): Promise<void> {
    const applied = row ? JSON.stringify(row) : '';
    const old = this.running.get(xb.name);
    if ((old?.applied ?? '') === applied) {
      old?.agent?.refreshPorts();
      return;
    }
    this.stop(xb);
    if (!row) return;
    const running: Running = { applied };
    this.running.set(xb.name, running);
    try {
      const options = await resolveSflow(row);
      running.agent = new SflowAgent(xb.name, options, this.nextSubAgentId++, () => bridgePorts(xb, this.of.datapath));
      xb.setSflow(running.agent);
      this.of.scheduleRevalidation();
      const to = options.collectors.map((c) => `${c.host}:${c.port}`).join(', ');
      log.info(`bridge ${xb.name}: sFlow on: 1 in ${options.sampling} frames, counters every ${options.polling} s, to ${to}`);
    } catch (e) {
      if (!(e instanceof SflowConfigError)) throw e;
      log.warn(`bridge ${xb.name}: sFlow: ${e.message}`);
    }
  }

  /** Stops bridge `xb`'s agent, if it has one. */
  stop(xb: XBridge): void {
    const old = this.running.get(xb.name);
    if (!old) return;
    this.running.delete(xb.name);
    if (old.agent) {
      old.agent.close();
      xb.setSflow(undefined);
      this.of.scheduleRevalidation();
      log.info(`bridge ${xb.name}: sFlow off`);
    }
  }
}

const sysfsNumber = (dev: string, attr: string): number => {
  try {
    const n = Number(readFileSync(`/sys/class/net/${dev}/${attr}`, 'utf8').trim());
    return Number.isFinite(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
};

/** The bridge's ports that have a datapath port of their own (tunnels share a vport), with its counters. */
function bridgePorts(xb: XBridge, datapath: Datapath): SflowPort[] {
  const byDp = new Map(datapath.ports().map((p) => [p.port, p]));
  const out: SflowPort[] = [];
  for (const p of xb.ports()) {
    const info = p.tunnel ? undefined : byDp.get(p.dpPort);
    if (!info) continue;
    out.push({
      dpPort: p.dpPort,
      name: p.name,
      ifindex: info.ifindex,
      stats: info.stats,
      adminUp: p.adminUp,
      linkUp: info.ifindex ? carrierOf(info.name) === 'up' : (p.linkUp ?? true),
      // /sys gives Mb/s.
      speed: sysfsNumber(info.name, 'speed') * 1_000_000,
    });
  }
  return out;
}
