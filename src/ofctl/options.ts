/**
 * tvs-ofctl's command line, as ovs-ofctl's: its options and its command table, read by the
 * parser it shares with tvs-dpctl (src/lib/command-line.ts).
 */
import { parseCommandLine, type ArgCounts, type OptionWord } from '../lib/command-line.js';
import { own } from '../lib/own.js';
import { TLS_SHORT_OPTIONS, type TlsFiles, takeTlsOption } from '../lib/tls.js';
import { UsageError } from '../lib/usage-error.js';
import { OFP10, OFP11, OFP12, OFP13, OFP14, OFP15 } from '../openflow/messages.js';

/** Argument counts, as ovs-ofctl's command table has them, of the commands tvs-ofctl implements. */
const COMMANDS: Readonly<Record<string, ArgCounts>> = {
  show: [1, 1],
  monitor: [1, 3],
  snoop: [1, 1],
  'dump-desc': [1, 1],
  'dump-tables': [1, 1],
  'dump-table-features': [1, 1],
  'dump-table-desc': [1, 1],
  'dump-flows': [1, 2],
  'dump-aggregate': [1, 2],
  'queue-stats': [1, 3],
  'queue-get-config': [1, 3],
  'add-flow': [2, 2],
  'add-flows': [2, 2],
  'mod-flows': [2, 2],
  'del-flows': [1, 2],
  'replace-flows': [2, 2],
  'diff-flows': [2, 2],
  'add-meter': [2, 2],
  'mod-meter': [2, 2],
  'del-meter': [1, 2],
  'del-meters': [1, 2],
  'dump-meter': [1, 2],
  'dump-meters': [1, 2],
  'meter-stats': [1, 2],
  'packet-out': [2, Number.MAX_SAFE_INTEGER],
  'dump-ports': [1, 2],
  'dump-ports-desc': [1, 2],
  'mod-port': [3, 3],
  probe: [1, 1],
  ping: [1, 2],
  'add-group': [1, 2],
  'add-groups': [2, 2],
  'mod-group': [1, 2],
  'del-groups': [1, 2],
  'dump-groups': [1, 2],
  'dump-group-stats': [1, 2],
  'add-tlv-map': [2, 2],
  'del-tlv-map': [1, 2],
  'dump-tlv-map': [1, 1],
  bundle: [2, 2],
  'dump-group-features': [1, 1],
};

const VERSION_NAMES: Readonly<Record<string, number>> = {
  OpenFlow10: OFP10,
  OpenFlow11: OFP11,
  OpenFlow12: OFP12,
  OpenFlow13: OFP13,
  OpenFlow14: OFP14,
  OpenFlow15: OFP15,
};

export interface SortKey {
  /** A match field name, or undefined to sort by priority. */
  field?: string;
  descending: boolean;
}

export interface Invocation {
  /** The versions -O allows, ascending; without -O only OpenFlow 1.0, as ovs-ofctl 3.1 offers. */
  versions: number[];
  /** Whether -O was given: without it, an OpenFlow 1.0 connection switches to NXM for flows. */
  explicitVersions: boolean;
  strict: boolean;
  bundle: boolean;
  readd: boolean;
  timeoutMs: number;
  names: boolean;
  stats: boolean;
  sort: SortKey[];
  /** Key, certificate and CA for an ssl: switch. */
  tls: TlsFiles;
  command: string;
  args: string[];
}

/** `OpenFlow10,OpenFlow13` -> [0x01, 0x04]. */
function parseVersions(text: string): number[] {
  const versions = new Set<number>();
  for (const name of text.split(',')) {
    const v = own(VERSION_NAMES, name.trim());
    if (v === undefined) throw new UsageError(`Unknown OpenFlow version: "${name.trim()}"`);
    versions.add(v);
  }
  return [...versions].sort((a, b) => a - b);
}

export function parseArgs(argv: string[]): Invocation | 'help' | 'version' {
  const inv: Omit<Invocation, 'command' | 'args'> = {
    versions: [OFP10],
    explicitVersions: false,
    strict: false,
    bundle: false,
    readd: false,
    timeoutMs: 0,
    names: false,
    stats: true,
    sort: [],
    tls: {},
  };
  const option = (o: OptionWord): boolean => {
    const { flag, attached, value } = o;
    if (takeTlsOption(o, inv.tls)) return true;
    switch (flag) {
      case '-O':
      case '--protocols':
        inv.versions = parseVersions(value());
        inv.explicitVersions = true;
        return true;
      case '-t':
      case '--timeout': {
        const v = value();
        if (!/^\d+$/.test(v)) throw new UsageError(`value ${v} on -t or --timeout is invalid`);
        inv.timeoutMs = Number(v) * 1000;
        return true;
      }
      case '--strict':
        inv.strict = true;
        return true;
      case '--bundle':
        inv.bundle = true;
        return true;
      case '--readd':
        inv.readd = true;
        return true;
      case '--names':
        inv.names = true;
        return true;
      case '--no-names':
        inv.names = false;
        return true;
      case '--stats':
        inv.stats = true;
        return true;
      case '--no-stats':
        inv.stats = false;
        return true;
      case '--sort':
      case '--rsort':
        inv.sort.push({ field: attached, descending: flag === '--rsort' });
        return true;
      default:
        return false;
    }
  };
  const line = parseCommandLine(argv, { commands: COMMANDS, shortWithValue: ['-O', '-t', ...TLS_SHORT_OPTIONS], option });
  if (typeof line === 'string') return line;
  // As ovs-ofctl: --bundle or the bundle command without a version that has bundles (1.3+) means OpenFlow 1.4.
  if ((inv.bundle || line.command === 'bundle') && !inv.versions.some((v) => v >= OFP13)) inv.versions = [OFP14];
  return { ...inv, ...line };
}
