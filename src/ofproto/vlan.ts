/**
 * The VLAN configuration of a bridge port and what it means for NORMAL switching, with OVS's
 * semantics (vswitch.xml, Port table, `vlan_mode`, `tag`, `trunks`):
 *
 * - access: the port carries one VLAN, `tag` (0 if unset). Frames arrive and leave untagged; a
 *   frame that arrives with a VLAN header (other than a priority-only tag, VID 0) is dropped.
 * - trunk: the port carries the VLANs in `trunks` (every VLAN when unset or empty). Frames carry
 *   their VLAN in an 802.1Q header, except VLAN 0, which is untagged.
 * - native-tagged: a trunk whose untagged (or VID 0) input belongs to the native VLAN `tag`;
 *   native-VLAN frames leave tagged.
 * - native-untagged: the same, but native-VLAN frames leave untagged.
 *
 * The default mode is access when `tag` is set and trunk otherwise. Native modes always carry
 * their native VLAN, whether `trunks` lists it or not.
 */
import { VLAN_CFI, VLAN_VID_MASK } from './flow.js';

export type VlanMode = 'access' | 'trunk' | 'native-tagged' | 'native-untagged';

/** A port's VLAN settings as the database holds them. */
export interface PortVlanConfig {
  tag?: number;
  trunks?: readonly number[];
  vlanMode?: VlanMode;
}

/** A validated configuration, with defaults resolved. */
export interface ResolvedVlan {
  mode: VlanMode;
  /** The access or native VLAN; undefined for trunk ports. */
  tag: number | undefined;
  /** The trunked VLANs; undefined means all of them. */
  trunks: ReadonlySet<number> | undefined;
}

/** A VLAN configuration OVS would not accept as written. */
export class VlanConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VlanConfigError';
  }
}

const MODES: readonly VlanMode[] = ['access', 'trunk', 'native-tagged', 'native-untagged'];

function checkVid(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 4095) throw new VlanConfigError(`${what} ${v} is not a VLAN id: use 0-4095`);
}

/** Validates a configuration and resolves its defaults. Throws VlanConfigError. */
export function resolveVlan(c: PortVlanConfig = {}): ResolvedVlan {
  if (c.vlanMode !== undefined && !MODES.includes(c.vlanMode)) {
    throw new VlanConfigError(`vlan_mode "${c.vlanMode}" is unknown: use access, trunk, native-tagged or native-untagged`);
  }
  if (c.tag !== undefined) checkVid(c.tag, 'tag');
  for (const t of c.trunks ?? []) checkVid(t, 'trunks: entry');
  const mode: VlanMode = c.vlanMode ?? (c.tag !== undefined ? 'access' : 'trunk');
  const trunks = c.trunks && c.trunks.length > 0 ? c.trunks : undefined;
  switch (mode) {
    case 'access':
      if (trunks) throw new VlanConfigError(`an access port carries only its tag: remove trunks=[${trunks.join(',')}] or use vlan_mode=trunk/native-*`);
      return { mode, tag: c.tag ?? 0, trunks: new Set() };
    case 'trunk':
      if (c.tag !== undefined) throw new VlanConfigError(`a trunk port has no tag (tag=${c.tag}): remove the tag, or use vlan_mode=native-tagged or native-untagged`);
      return { mode, tag: undefined, trunks: trunks ? new Set(trunks) : undefined };
    case 'native-tagged':
    case 'native-untagged':
      if (c.tag === undefined) throw new VlanConfigError(`vlan_mode=${mode} needs a tag: the native VLAN of untagged frames`);
      return { mode, tag: c.tag, trunks: trunks ? new Set([...trunks, c.tag]) : undefined };
  }
}

/** True if the port carries `vlan` (OVS's xbundle_includes_vlan). */
export function portCarriesVlan(v: ResolvedVlan, vlan: number): boolean {
  if (vlan === v.tag) return true;
  if (v.mode === 'access') return false;
  return v.trunks === undefined || v.trunks.has(vlan);
}

/** Why an input frame was refused, or the VLAN it belongs to. */
export type InputVlan = { vlan: number } | { drop: string };

/**
 * The VLAN of a frame received with TCI `tci` (0 = untagged; VLAN_CFI set = tagged), or why it
 * must be dropped.
 */
export function inputVlan(v: ResolvedVlan, tci: number): InputVlan {
  const vid = tci & VLAN_CFI ? tci & VLAN_VID_MASK : 0;
  switch (v.mode) {
    case 'access':
      if (vid !== 0) return { drop: `dropping VLAN ${vid} tagged packet received on access port for VLAN ${v.tag ?? 0}` };
      return { vlan: v.tag ?? 0 };
    case 'native-tagged':
    case 'native-untagged':
    case 'trunk':
      // Untagged frames on a native port belong to the native VLAN; tagged ones are trunked.
      if (vid === 0 && v.mode !== 'trunk') return { vlan: v.tag! };
      if (!portCarriesVlan(v, vid)) return { drop: `dropping VLAN ${vid} packet received on port not configured for trunking VLAN ${vid}` };
      return { vlan: vid };
  }
}

/**
 * The TCI a frame of `vlan` leaves the port with: 0 for untagged, or VLAN_CFI | pcp | vid;
 * undefined if the port does not carry `vlan`. `pcp` is the priority (0-7) to keep.
 */
export function outputTci(v: ResolvedVlan, vlan: number, pcp = 0): number | undefined {
  if (!portCarriesVlan(v, vlan)) return undefined;
  if (v.mode === 'access') return 0;
  if (vlan === v.tag && v.mode === 'native-untagged') return 0;
  if (vlan === 0 && v.mode === 'trunk') return 0;
  return VLAN_CFI | ((pcp & 7) << 13) | vlan;
}
