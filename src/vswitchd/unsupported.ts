// Settings the Open_vSwitch schema stores that TVS does not implement yet. A
// user who configures one must not believe it is on: each is logged once as a
// warning and named in the status column of the row that asks for it (the
// row's own status, or the bridge's for a bridge-level setting), until the
// setting is removed.
import { getLogger } from '../lib/log.js';
import type { Datum } from '../ovsdb/datum.js';
import type { Replica, ReplicaRow } from '../ovsdb/replica.js';

const log = getLogger('vswitchd');

/** The columns this module reads, per table (merged into what the daemon monitors). */
export const UNSUPPORTED_COLUMNS: Record<string, string[]> = {
  Open_vSwitch: ['manager_options'],
  Bridge: ['name', 'stp_enable', 'rstp_enable', 'mcast_snooping_enable', 'flow_tables', 'flood_vlans', 'protocols'],
  Port: ['name', 'bond_mode', 'lacp', 'qos', 'protected', 'cvlans', 'other_config'],
  Interface: ['name', 'ingress_policing_rate', 'bfd'],
  Manager: ['target'],
};

/** A row's unsupported settings: status key (the column or other_config key) -> why it has no effect. */
export type UnsupportedStatus = Record<string, string>;

const NOT_SUPPORTED = 'not supported by TVS: this setting has no effect';

/** A column that asks for something when it is true, non-empty or positive. */
function configured(d: Datum): boolean {
  return d.keys.some((k) => k === true || (typeof k === 'number' && k > 0) || (typeof k === 'string' && k !== '') || (Array.isArray(k) && k.length > 0));
}

/** Per table, the columns whose use is unsupported, and what to say about each. */
const UNSUPPORTED: Record<string, Record<string, string>> = {
  Bridge: {
    stp_enable: `STP is ${NOT_SUPPORTED}`,
    rstp_enable: `RSTP is ${NOT_SUPPORTED}`,
    mcast_snooping_enable: `multicast snooping is ${NOT_SUPPORTED}`,
    flow_tables: `Flow_Table settings (flow limits, eviction, prefixes) are ${NOT_SUPPORTED}`,
    flood_vlans: `flood_vlans is ${NOT_SUPPORTED}`,
    protocols: `restricting OpenFlow versions is ${NOT_SUPPORTED} (every version 1.0-1.5 is accepted)`,
  },
  Port: {
    bond_mode: `bonding is ${NOT_SUPPORTED}`,
    lacp: `LACP is ${NOT_SUPPORTED}`,
    qos: `QoS and queues are ${NOT_SUPPORTED}`,
    protected: `protected ports are ${NOT_SUPPORTED}`,
    cvlans: `cvlans (802.1ad dot1q-tunnel) are ${NOT_SUPPORTED}`,
  },
  Interface: {
    ingress_policing_rate: `ingress policing is ${NOT_SUPPORTED}`,
    bfd: `BFD is ${NOT_SUPPORTED}`,
  },
};

/** Port other_config keys that configure features TVS lacks, by prefix. */
const PORT_OTHER_CONFIG_PREFIXES: [string, string][] = [
  ['stp-', 'STP'],
  ['rstp-', 'RSTP'],
  ['bond-', 'bonding'],
  ['lacp-', 'LACP'],
  ['mcast-snooping-', 'multicast snooping'],
];

function findings(table: string, row: ReplicaRow): UnsupportedStatus {
  const found: UnsupportedStatus = {};
  for (const [column, why] of Object.entries(UNSUPPORTED[table] ?? {})) {
    if (configured(row.get(column))) found[column] = why;
  }
  if (table === 'Port') {
    const otherConfig = row.get('other_config');
    for (const key of otherConfig.keys.map(String)) {
      const feature = PORT_OTHER_CONFIG_PREFIXES.find(([prefix]) => key.startsWith(prefix))?.[1];
      if (feature) found[`other_config:${key}`] = `${feature} is ${NOT_SUPPORTED}`;
    }
  }
  return found;
}

/**
 * Finds the unsupported settings in the database on every pass, warns once per
 * row and setting while it stays configured, and says what each row's status
 * column should hold.
 */
export class UnsupportedSettings {
  /** "uuid key" of every warning given for a setting still configured. */
  private warned = new Set<string>();
  private status = new Map<string, UnsupportedStatus>();

  /** Re-reads the database's rows. */
  update(replica: Replica): void {
    const status = new Map<string, UnsupportedStatus>();
    const warned = new Set<string>();
    const note = (table: string, row: ReplicaRow, found: UnsupportedStatus) => {
      status.set(row.uuid, found);
      const name = table === 'Manager' ? String(row.get('target').keys[0] ?? row.uuid) : String(row.get('name').keys[0] ?? row.uuid);
      for (const [key, why] of Object.entries(found)) {
        const id = `${row.uuid} ${key}`;
        warned.add(id);
        if (!this.warned.has(id)) log.warn(`${table} ${name}: ${key}: ${why}`);
      }
    };
    for (const table of ['Bridge', 'Port', 'Interface']) {
      for (const row of replica.rows(table)) note(table, row, findings(table, row));
    }
    for (const row of replica.rows('Manager')) {
      // Passive targets are served by the embedded database (vswitchd.ts); the server does not connect out.
      if (!/^p(tcp|ssl|unix):/.test(String(row.get('target').keys[0] ?? ''))) {
        note('Manager', row, { target: 'active managers (tcp:, ssl:, unix:) are not supported by TVS: nothing connects to this target; use a passive target (ptcp:PORT, pssl:PORT, punix:PATH) that the manager connects to' });
      }
    }
    this.warned = warned;
    this.status = status;
  }

  /** What row `uuid`'s status column should say (empty when it asks for nothing unsupported). */
  statusOf(uuid: string): UnsupportedStatus {
    return this.status.get(uuid) ?? {};
  }
}
