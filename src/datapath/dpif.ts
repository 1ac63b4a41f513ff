// The TypeScript face of the datapath (OVS's "dpif"): ports, forwarding,
// counters and upcalls, over the Rust addon.
import type { DatapathHandle, NativeDpStats, NativePortInfo, NativeUpcall } from '../../native/index.js';
import { loadAddon } from './addon.js';

export type PortType = 'system' | 'tap';
export type PortInfo = NativePortInfo;
export type Upcall = NativeUpcall;
export type DatapathStats = NativeDpStats;

export interface AddPortOptions {
  /** `system`: an existing interface through AF_PACKET; `tap`: a tap device the switch creates and holds. */
  type: PortType;
  name: string;
  /** Wanted port number (OVS's ofport_request); the lowest free one when absent. */
  portNo?: number;
  /** tap only: MTU to set on the device. */
  mtu?: number;
  /** tap only: MAC address of the kernel side, `aa:bb:cc:dd:ee:ff`. */
  mac?: string;
}

export interface DatapathOptions {
  /** Receives, in batches, the frames no forwarding entry claimed. */
  onUpcall?: (batch: Upcall[]) => void;
}

export class Datapath {
  private handle: DatapathHandle | undefined;
  private readonly addon = loadAddon();

  private constructor(handle: DatapathHandle) {
    this.handle = handle;
  }

  static open(options: DatapathOptions = {}): Datapath {
    const addon = loadAddon();
    return new Datapath(addon.op_dp_open(options.onUpcall));
  }

  private get dp(): DatapathHandle {
    if (!this.handle) throw new Error('datapath is closed: open a new one');
    return this.handle;
  }

  addPort(options: AddPortOptions): { port: number; ifindex: number } {
    if (options.type !== 'tap' && (options.mtu !== undefined || options.mac !== undefined)) {
      throw new Error(`port "${options.name}": mtu and mac can only be set on a tap port`);
    }
    const mac = options.mac === undefined ? undefined : parseMac(options.mac);
    return this.addon.op_port_add(this.dp, options.type, options.name, options.portNo ?? 0, options.mtu ?? 0, mac);
  }

  removePort(port: number): void {
    this.addon.op_port_del(this.dp, port);
  }

  ports(): PortInfo[] {
    return this.addon.op_port_list(this.dp);
  }

  port(nameOrNumber: string | number): PortInfo {
    const found = this.ports().find((p) => p.name === nameOrNumber || p.port === nameOrNumber);
    if (!found) throw new Error(`no port ${JSON.stringify(nameOrNumber)} in the datapath`);
    return found;
  }

  /** Forward every frame received on `inPort` to `outPorts`; an empty list removes the entry. */
  setForward(inPort: number, outPorts: number[]): void {
    this.addon.op_fwd_set(this.dp, inPort, outPorts);
  }

  /** Send a complete Ethernet frame out of `port`. */
  sendFrame(port: number, frame: Buffer): void {
    this.addon.op_dp_send_frame(this.dp, port, frame);
  }

  stats(): DatapathStats {
    return this.addon.op_dp_get_stats(this.dp);
  }

  get closed(): boolean {
    return this.handle === undefined;
  }

  /** Stop the poll thread and close every port (tap devices the switch created disappear). */
  close(): void {
    if (this.handle) {
      this.addon.op_dp_close(this.handle);
      this.handle = undefined;
    }
  }
}

export function parseMac(text: string): Buffer {
  const parts = text.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`invalid MAC address "${text}": expected six hex bytes like 02:00:00:00:00:01`);
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}
