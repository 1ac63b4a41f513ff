// A bridge's NetFlow row made into the accounting ofproto runs (OVS's
// bridge_configure_netflow): engine type and id from the row or, unset,
// from the datapath; the active timeout's special values; the collectors.
import { getLogger } from '../lib/log.js';
import { datapathNetflowIds, Netflow, NF_ACTIVE_TIMEOUT_DEFAULT_SEC, type NetflowOptions } from '../ofproto/netflow.js';
import type { XBridge } from '../ofproto/xbridge.js';
import { Collectors } from './collectors.js';
import type { NetflowConfig } from './db-config.js';

const log = getLogger('netflow');

/** The datapath's name, from which OVS derives NetFlow's default engine type and id. */
const DATAPATH_NAME = 'ovs-netdev';

interface Running {
  /** The row as last applied (JSON), so an unchanged row costs nothing. */
  applied: string;
  collectors: Collectors;
  netflow: Netflow;
}

/** The NetFlow of every bridge. */
export class BridgeNetflows {
  private readonly running = new Map<XBridge, Running>();

  /** Applies `cfg` (undefined: the bridge has no NetFlow row) to `xb`. */
  apply(xb: XBridge, cfg: NetflowConfig | undefined): void {
    const old = this.running.get(xb);
    if (!cfg) {
      if (old) this.remove(xb, old);
      return;
    }
    const applied = JSON.stringify(cfg);
    if (old?.applied === applied) return;
    const what = `bridge ${xb.name}: NetFlow`;
    const collectors = new Collectors(what, cfg.targets);
    if (!collectors.count) log.warn(`${what}: no collector target parses, so no records are sent (set targets="IP:PORT")`);
    old?.collectors.close();
    const netflow = old?.netflow ?? new Netflow((d) => this.running.get(xb)?.collectors.send(d));
    netflow.setOptions(netflowOptions(xb.name, cfg));
    this.running.set(xb, { applied, collectors, netflow });
    xb.setNetflow(netflow);
    if (!old) log.info(`${what}: exporting NetFlow v5 to ${cfg.targets.join(', ')}`);
  }

  /** The bridge is going away. */
  forget(xb: XBridge): void {
    const r = this.running.get(xb);
    if (r) this.remove(xb, r);
  }

  private remove(xb: XBridge, r: Running): void {
    // Cleared first, so the last records (setNetflow closes it) still reach the collectors.
    xb.setNetflow(undefined);
    r.collectors.close();
    this.running.delete(xb);
    log.info(`bridge ${xb.name}: NetFlow off`);
  }
}

function netflowOptions(bridge: string, cfg: NetflowConfig): NetflowOptions {
  const ids = datapathNetflowIds(DATAPATH_NAME);
  const engineId = cfg.engineId ?? ids.engineId;
  if (cfg.addIdToInterface && engineId > 0x7f) {
    log.warn(`bridge ${bridge}: NetFlow add_id_to_interface uses engine_id's low 7 bits: engine_id ${engineId} may be mistaken for another switch's, choose one below 128`);
  }
  return {
    engineType: cfg.engineType ?? ids.engineType,
    engineId,
    // The schema's 0 asks for the default, -1 for none.
    activeTimeoutSec: cfg.activeTimeout === 0 ? NF_ACTIVE_TIMEOUT_DEFAULT_SEC : Math.max(cfg.activeTimeout, 0),
    addIdToInterface: cfg.addIdToInterface,
  };
}
