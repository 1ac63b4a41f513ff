/**
 * Port numbers and port descriptions on the wire.
 *
 * TVS numbers ports with OpenFlow 1.0's 16 bits (OFPP_LOCAL is 0xfffe, OFPP_NONE/ANY 0xffff);
 * OpenFlow 1.1+ uses 32 bits with the reserved ports at the top (0xfffffffe), so the
 * conversion shifts the reserved range as OVS does. Port feature bits are kept in OpenFlow 1.1's
 * layout (OFPPF_*: 10MB_HD 1 ... 1TB_FD 64, OTHER 128, COPPER 256 ...), which OpenFlow 1.0's
 * narrower layout is converted from and to, as OVS does.
 */
import { OFP10, OFP14, type PortDesc } from '../messages.js';
import { OfDecodeError, type OfReader, type OfWriter } from './buffer.js';

/** OpenFlow 1.0's first reserved port; OpenFlow 1.1's is OFPP11_MAX 0xffffff00. */
const OFPP_MAX = 0xff00;
const OFPP11_OFFSET = 0xffff0000;

export function portToOf11(port: number): number {
  return port >= OFPP_MAX ? (port + OFPP11_OFFSET) >>> 0 : port;
}

/** A 32-bit port number as TVS's 16-bit one; the numbers between the two ranges are refused. */
function portFromOf11(port: number): number {
  if (port < OFPP_MAX) return port;
  if (port >= OFPP_MAX + OFPP11_OFFSET) return port - OFPP11_OFFSET;
  throw new OfDecodeError('OFPBRC_BAD_PORT', `port ${port} is neither a switch port (below 0xff00) nor a reserved port (0xffffff00 and above)`);
}

/** Writes a port number as `version` has it: 16 bits on 1.0, 32 bits on 1.1+. */
export function writePort(w: OfWriter, port: number, version: number): void {
  if (version === OFP10) w.u16(port);
  else w.u32(portToOf11(port));
}

export function readPort(r: OfReader, version: number): number {
  return version === OFP10 ? r.u16('port_no') : portFromOf11(r.u32('port_no'));
}

/** OpenFlow 1.0's feature bits below 10GB_FD are 1.1's; 1.0's COPPER and up sit 4 bits lower. */
function featuresToOf10(f: number): number {
  return (f & 0x7f) | ((f >>> 4) & 0xf80);
}

function featuresFromOf10(f: number): number {
  return (f & 0x7f) | ((f & 0xf80) << 4);
}

function writeMac(w: OfWriter, mac: bigint): void {
  w.u16(Number((mac >> 32n) & 0xffffn)).u32(Number(mac & 0xffffffffn));
}

function readMac(r: OfReader): bigint {
  const hi = BigInt(r.u16('hw_addr'));
  return (hi << 32n) | BigInt(r.u32('hw_addr'));
}

/** OFPPDPT_ETHERNET, the port description property that carries features and speeds (1.4+). */
const OFPPDPT_ETHERNET = 0;

/** One ofp10_phy_port (48 bytes), ofp11_port (64) or ofp14_port (72, with its Ethernet property). */
export function writePortDesc(w: OfWriter, p: PortDesc, version: number): void {
  if (version === OFP10) {
    w.u16(p.portNo);
    writeMac(w, p.hwAddr);
    w.str(p.name, 16).u32(p.config).u32(p.state);
    for (const f of [p.curr, p.advertised, p.supported, p.peer]) w.u32(featuresToOf10(f));
    return;
  }
  w.u32(portToOf11(p.portNo));
  if (version >= OFP14) w.u16(72).zeros(2);
  else w.zeros(4);
  writeMac(w, p.hwAddr);
  w.zeros(2).str(p.name, 16).u32(p.config).u32(p.state);
  if (version >= OFP14) w.u16(OFPPDPT_ETHERNET).u16(32).zeros(4);
  w.u32(p.curr).u32(p.advertised).u32(p.supported).u32(p.peer).u32(p.currSpeed).u32(p.maxSpeed);
}

export function readPortDesc(r: OfReader, version: number): PortDesc {
  if (version === OFP10) {
    const portNo = r.u16('port_no');
    const hwAddr = readMac(r);
    const name = r.str(16, 'port name');
    const config = r.u32('config');
    const state = r.u32('state');
    const [curr, advertised, supported, peer] = [0, 0, 0, 0].map(() => featuresFromOf10(r.u32('port features')));
    return { portNo, hwAddr, name, config, state, curr: curr ?? 0, advertised: advertised ?? 0, supported: supported ?? 0, peer: peer ?? 0, currSpeed: 0, maxSpeed: 0 };
  }
  const portNo = readPort(r, version);
  let length = 64;
  if (version >= OFP14) {
    length = r.u16('port length');
    if (length < 40) throw new OfDecodeError('OFPBRC_BAD_LEN', `port description of ${length} bytes is shorter than its 40-byte header`);
    r.skip(2);
  } else {
    r.skip(4);
  }
  const hwAddr = readMac(r);
  r.skip(2);
  const name = r.str(16, 'port name');
  const config = r.u32('config');
  const state = r.u32('state');
  const desc: PortDesc = { portNo, hwAddr, name, config, state, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 };
  const features = version >= OFP14 ? findEthernetProperty(r.sub(length - 40, 'port properties')) : r;
  if (features) {
    desc.curr = features.u32('curr');
    desc.advertised = features.u32('advertised');
    desc.supported = features.u32('supported');
    desc.peer = features.u32('peer');
    desc.currSpeed = features.u32('curr_speed');
    desc.maxSpeed = features.u32('max_speed');
  }
  return desc;
}

/** The body of the Ethernet property among a port's properties, if it has one. */
function findEthernetProperty(props: OfReader): OfReader | undefined {
  let found: OfReader | undefined;
  while (props.remaining > 0) {
    const type = props.u16('property type');
    const len = props.u16('property length');
    if (len < 4) throw new OfDecodeError('OFPBPC_BAD_LEN', `port property of ${len} bytes is shorter than its header`);
    const body = props.sub(len - 4, 'port property');
    props.skip(Math.min((8 - (len % 8)) % 8, props.remaining));
    if (type === OFPPDPT_ETHERNET && len >= 32) {
      body.skip(4);
      found = body;
    }
  }
  return found;
}
