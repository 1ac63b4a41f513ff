/**
 * The datapath's meters for every bridge on it (OVS's provider meter ids): each OpenFlow meter
 * of any bridge gets a datapath meter id of its own, so bridges can use the same OpenFlow ids.
 */
import type { Datapath } from '../datapath/dpif.js';
import type { MeterConfig, MeterProvider, ProviderMeterStats } from './meters.js';

/** Datapath meter ids are 0..DATAPATH_METERS-1 (native/src/meter.rs MAX_METERS). */
const DATAPATH_METERS = 65536;

export class DatapathMeters implements MeterProvider {
  private readonly used = new Set<number>();
  /** Where the search for a free id starts: ids are reused lowest first. */
  private lowestFree = 0;

  constructor(private readonly datapath: Datapath) {}

  set(providerId: number | undefined, config: MeterConfig): number {
    const id = providerId ?? this.allocate();
    try {
      this.datapath.setMeter(id, {
        // kbps is OpenFlow's default unit.
        pktps: config.flags.pktps === true,
        bands: config.bands.map((b) => (b.type === 'drop' ? { type: 'drop', rate: b.rate, burstSize: b.burstSize } : { ...b })),
      });
    } catch (e) {
      if (providerId === undefined) this.release(id);
      throw e;
    }
    return id;
  }

  delete(providerId: number): void {
    this.datapath.deleteMeter(providerId);
    this.release(providerId);
  }

  stats(providerId: number): ProviderMeterStats | undefined {
    return this.datapath.meterStats(providerId) ?? undefined;
  }

  private allocate(): number {
    let id = this.lowestFree;
    while (this.used.has(id)) id++;
    if (id >= DATAPATH_METERS) throw new Error(`all ${DATAPATH_METERS} datapath meters are in use`);
    this.used.add(id);
    this.lowestFree = id + 1;
    return id;
  }

  private release(id: number): void {
    this.used.delete(id);
    this.lowestFree = Math.min(this.lowestFree, id);
  }
}
