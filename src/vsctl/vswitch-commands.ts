// The Open vSwitch commands of ovs-vsctl (utilities/ovs-vsctl.c): bridges (real and VLAN "fake"
// bridges), ports, bonds, interfaces, controllers, fail modes, managers, SSL, emer-reset. Same
// checks, same verifications (for optimistic concurrency), same messages.

import { type Datum, makeDatum } from '../ovsdb/datum.js';
import type { Atom } from '../ovsdb/types.js';
import { type Cache, type CommandSyntax, type Context, type VBridge, type VIface, type VPort, fatal, hasColumn, opt, refs, str, uuidSet } from './context.js';
import { setColumn } from './db-commands.js';
import type { TxnRow } from './idl.js';

function isFakeBridgePort(p: TxnRow): boolean {
  const tag = opt(p, 'tag');
  return opt(p, 'fake_bridge') === true && typeof tag === 'number' && tag >= 0 && tag <= 4095;
}

function addBridgeToCache(ctx: Context, cache: Cache, cfg: TxnRow | undefined, name: string, parent: VBridge | undefined, vlan: number): VBridge {
  const br: VBridge = { cfg, name, ports: [], children: new Map(), parent, vlan };
  if (parent) {
    const conflict = parent.children.get(vlan);
    if (conflict) {
      ctx.log('vsctl', 'WARN', `${parent.name}: bridge has multiple VLAN bridges (${name} and ${conflict.name}) for VLAN ${vlan}, but only one is allowed`);
    } else {
      parent.children.set(vlan, br);
    }
  }
  cache.bridges.set(name, br);
  return br;
}

function addPortToCache(cache: Cache, parent: VBridge, cfg: TxnRow): VPort {
  const tag = opt(cfg, 'tag');
  if (typeof tag === 'number' && tag >= 0 && tag <= 4095) {
    const vb = parent.children.get(tag);
    if (vb) parent = vb;
  }
  const port: VPort = { cfg, bridge: parent, ifaces: [] };
  parent.ports.push(port);
  cache.ports.set(str(cfg, 'name'), port);
  return port;
}

function addIfaceToCache(cache: Cache, port: VPort, cfg: TxnRow): VIface {
  const iface: VIface = { cfg, port };
  port.ifaces.push(iface);
  cache.ifaces.set(str(cfg, 'name'), iface);
  return iface;
}

/** vsctl_context_populate_cache. */
function populateCache(ctx: Context): Cache {
  if (ctx.cache) return ctx.cache;
  const cache: Cache = { bridges: new Map(), ports: new Map(), ifaces: new Map() };
  ctx.cache = cache;
  const bridges = refs(ctx, ctx.ovs, 'bridges', 'Bridge');
  const seenBridges = new Set<string>();
  const seenPorts = new Set<string>();
  for (const brCfg of bridges) {
    const name = str(brCfg, 'name');
    if (seenBridges.has(name)) {
      ctx.log('vsctl', 'WARN', `${name}: database contains duplicate bridge name`);
      continue;
    }
    seenBridges.add(name);
    const br = addBridgeToCache(ctx, cache, brCfg, name, undefined, 0);
    for (const p of refs(ctx, brCfg, 'ports', 'Port')) {
      const pname = str(p, 'name');
      if (seenPorts.has(pname)) continue;
      seenPorts.add(pname);
      if (isFakeBridgePort(p) && !seenBridges.has(pname)) {
        seenBridges.add(pname);
        addBridgeToCache(ctx, cache, undefined, pname, br, opt(p, 'tag') as number);
      }
    }
  }
  const seen2 = new Set<string>();
  for (const brCfg of bridges) {
    const name = str(brCfg, 'name');
    if (seen2.has(name)) continue;
    seen2.add(name);
    const br = cache.bridges.get(name)!;
    for (const p of refs(ctx, brCfg, 'ports', 'Port')) {
      const pname = str(p, 'name');
      const existing = cache.ports.get(pname);
      if (existing) {
        if (existing.cfg === p) ctx.log('vsctl', 'WARN', `${pname}: port is in multiple bridges (${br.name} and ${existing.bridge.name})`);
        else ctx.log('vsctl', 'ERR', `${pname}: database contains duplicate port name`);
        continue;
      }
      if (isFakeBridgePort(p) && seen2.has(pname)) continue;
      if (isFakeBridgePort(p)) seen2.add(pname);
      const port = addPortToCache(cache, br, p);
      for (const i of refs(ctx, p, 'interfaces', 'Interface')) {
        const iname = str(i, 'name');
        const ex = cache.ifaces.get(iname);
        if (ex) {
          if (ex.cfg === i) ctx.log('vsctl', 'WARN', `${iname}: interface is in multiple ports (${str(ex.port.cfg, 'name')} and ${pname})`);
          else ctx.log('vsctl', 'ERR', `${iname}: database contains duplicate interface name`);
          continue;
        }
        addIfaceToCache(cache, port, i);
      }
    }
  }
  return cache;
}

function verifyPorts(ctx: Context): void {
  if (ctx.verifiedPorts) return;
  ctx.txn.verify(ctx.ovs, 'bridges');
  for (const b of ctx.txn.rowsOf('Bridge')) ctx.txn.verify(b, 'ports');
  for (const p of ctx.txn.rowsOf('Port')) ctx.txn.verify(p, 'interfaces');
  ctx.verifiedPorts = true;
}

function checkConflicts(ctx: Context, cache: Cache, name: string, msg: string): void {
  verifyPorts(ctx);
  if (cache.bridges.has(name)) fatal(`${msg} because a bridge named ${name} already exists`);
  const port = cache.ports.get(name);
  if (port) fatal(`${msg} because a port named ${name} already exists on bridge ${port.bridge.name}`);
  const iface = cache.ifaces.get(name);
  if (iface) fatal(`${msg} because an interface named ${name} already exists on bridge ${iface.port.bridge.name}`);
}

function findBridge(ctx: Context, cache: Cache, name: string, mustExist: boolean): VBridge | undefined {
  const br = cache.bridges.get(name);
  if (mustExist && !br) fatal(`no bridge named ${name}`);
  ctx.txn.verify(ctx.ovs, 'bridges');
  return br;
}

function findRealBridge(ctx: Context, cache: Cache, name: string, mustExist: boolean): VBridge | undefined {
  const br = findBridge(ctx, cache, name, mustExist);
  if (br && br.parent) fatal(`${name} is a fake bridge`);
  return br;
}

function findPort(ctx: Context, cache: Cache, name: string, mustExist: boolean): VPort | undefined {
  let port = cache.ports.get(name);
  if (port && name === port.bridge.name) port = undefined;
  if (mustExist && !port) fatal(`no port named ${name}`);
  verifyPorts(ctx);
  return port;
}

function findIface(ctx: Context, cache: Cache, name: string, mustExist: boolean): VIface | undefined {
  let iface = cache.ifaces.get(name);
  if (iface && name === iface.port.bridge.name) iface = undefined;
  if (mustExist && !iface) fatal(`no interface named ${name}`);
  verifyPorts(ctx);
  return iface;
}

function setRefs(ctx: Context, row: TxnRow, column: string, rows: TxnRow[]): void {
  ctx.txn.write(row, column, uuidSet(rows));
}

function bridgeInsertPort(ctx: Context, br: TxnRow, port: TxnRow): void {
  setRefs(ctx, br, 'ports', [...refs(ctx, br, 'ports', 'Port'), port]);
}

function bridgeDeletePort(ctx: Context, br: TxnRow, port: TxnRow): void {
  setRefs(
    ctx,
    br,
    'ports',
    refs(ctx, br, 'ports', 'Port').filter((p) => p !== port),
  );
}

function scalar(a: Atom): Datum {
  return { keys: [a] };
}

function processEscapeArgs(args: string[]): string {
  return args
    .map((a) => {
      if (a !== '' && !/[^-A-Za-z0-9_./:=@,+%]/.test(a)) return a;
      return `"${a.replace(/(["\\])/g, '\\$1')}"`;
    })
    .join(' ');
}

function contextToString(ctx: Context): string {
  return processEscapeArgs([...ctx.cmd.options.keys(), ...ctx.argv]);
}

function cmdAddBr(ctx: Context): void {
  const mayExist = ctx.has('--may-exist');
  const brName = ctx.argv[1]!;
  if (!brName) fatal('bridge name must not be empty string');
  let parentName: string | undefined;
  let vlan = 0;
  if (ctx.argv.length === 2) {
    parentName = undefined;
  } else if (ctx.argv.length === 4) {
    parentName = ctx.argv[2]!;
    vlan = atoi(ctx.argv[3]!);
    if (vlan < 0 || vlan > 4095) fatal(`${ctx.argv[0]!}: vlan must be between 0 and 4095`);
  } else {
    fatal(`'${ctx.argv[0]!}' command takes exactly 1 or 3 arguments`);
  }
  const cache = populateCache(ctx);
  if (mayExist) {
    const br = findBridge(ctx, cache, brName, false);
    if (br) {
      if (!parentName) {
        if (br.parent) fatal(`"--may-exist add-br ${brName}" but ${brName} is a VLAN bridge for VLAN ${br.vlan}`);
      } else if (!br.parent) {
        fatal(`"--may-exist add-br ${brName} ${parentName} ${vlan}" but ${brName} is not a VLAN bridge`);
      } else if (br.parent.name !== parentName) {
        fatal(`"--may-exist add-br ${brName} ${parentName} ${vlan}" but ${brName} has the wrong parent ${br.parent.name}`);
      } else if (br.vlan !== vlan) {
        fatal(`"--may-exist add-br ${brName} ${parentName} ${vlan}" but ${brName} is a VLAN bridge for the wrong VLAN ${br.vlan}`);
      }
      return;
    }
  }
  checkConflicts(ctx, cache, brName, `cannot create a bridge named ${brName}`);
  const txn = ctx.txn;
  if (!parentName) {
    const iface = txn.insert('Interface');
    txn.write(iface, 'name', scalar(brName));
    txn.write(iface, 'type', scalar('internal'));
    const port = txn.insert('Port');
    txn.write(port, 'name', scalar(brName));
    setRefs(ctx, port, 'interfaces', [iface]);
    const br = txn.insert('Bridge');
    txn.write(br, 'name', scalar(brName));
    setRefs(ctx, br, 'ports', [port]);
    setRefs(ctx, ctx.ovs, 'bridges', [...refs(ctx, ctx.ovs, 'bridges', 'Bridge'), br]);
  } else {
    const parent = findBridge(ctx, cache, parentName, false);
    if (parent && parent.parent) fatal('cannot create bridge with fake bridge as parent');
    if (!parent) fatal(`parent bridge ${parentName} does not exist`);
    const conflict = parent.children.get(vlan);
    if (conflict) fatal(`bridge ${parentName} already has a child VLAN bridge ${conflict.name} on VLAN ${vlan}`);
    const iface = txn.insert('Interface');
    txn.write(iface, 'name', scalar(brName));
    txn.write(iface, 'type', scalar('internal'));
    const port = txn.insert('Port');
    txn.write(port, 'name', scalar(brName));
    setRefs(ctx, port, 'interfaces', [iface]);
    txn.write(port, 'fake_bridge', scalar(true));
    txn.write(port, 'tag', scalar(vlan));
    bridgeInsertPort(ctx, parent.cfg!, port);
  }
  ctx.invalidateCache();
}

/** C's atoi: leading whitespace, optional sign, digits; 0 when there are none. */
function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  if (!m) return 0;
  const n = Number(m[1]);
  // atoi truncates to int; out-of-range values wrap in practice, but any such value fails the range check.
  return n;
}

function delPort(ctx: Context, cache: Cache, port: VPort): void {
  const br = port.bridge.parent ? port.bridge.parent.cfg! : port.bridge.cfg!;
  bridgeDeletePort(ctx, br, port.cfg);
  for (const iface of [...port.ifaces]) {
    cache.ifaces.delete(str(iface.cfg, 'name'));
    ctx.txn.delete(iface.cfg);
  }
  port.ifaces.length = 0;
  port.bridge.ports.splice(port.bridge.ports.indexOf(port), 1);
  cache.ports.delete(str(port.cfg, 'name'));
  ctx.txn.delete(port.cfg);
}

function delBridge(ctx: Context, cache: Cache, br: VBridge): void {
  for (const child of [...br.children.values()]) delBridge(ctx, cache, child);
  for (const port of [...br.ports]) delPort(ctx, cache, port);
  if (ctx.txn.schema.tables.has('Flow_Sample_Collector_Set')) {
    for (const f of ctx.txn.rowsOf('Flow_Sample_Collector_Set')) {
      if (br.cfg && opt(f, 'bridge') === br.cfg.uuid) ctx.txn.delete(f);
    }
  }
  if (br.parent) br.parent.children.delete(br.vlan);
  if (br.cfg) {
    ctx.txn.delete(br.cfg);
    setRefs(
      ctx,
      ctx.ovs,
      'bridges',
      refs(ctx, ctx.ovs, 'bridges', 'Bridge').filter((b) => b !== br.cfg),
    );
  }
  cache.bridges.delete(br.name);
}

function cmdDelBr(ctx: Context): void {
  const mustExist = !ctx.has('--if-exists');
  const cache = populateCache(ctx);
  const br = findBridge(ctx, cache, ctx.argv[1]!, mustExist);
  if (br) delBridge(ctx, cache, br);
}

function outputSorted(ctx: Context, names: string[]): void {
  for (const n of [...names].sort(byteCompare)) ctx.out(`${n}\n`);
}

function byteCompare(a: string, b: string): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y);
}

function cmdListBr(ctx: Context): void {
  let real = ctx.has('--real');
  let fake = ctx.has('--fake');
  if (!real && !fake) real = fake = true;
  const cache = populateCache(ctx);
  outputSorted(
    ctx,
    [...cache.bridges.values()].filter((b) => (b.parent ? fake : real)).map((b) => b.name),
  );
}

export class ExitRequest extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
}

function cmdBrExists(ctx: Context): void {
  const cache = populateCache(ctx);
  if (!findBridge(ctx, cache, ctx.argv[1]!, false)) throw new ExitRequest(2);
}

function smapOf(row: TxnRow, column: string): Map<string, string> {
  const d = row.get(column);
  return new Map(d.keys.map((k, i) => [k as string, d.values![i] as string]));
}

function smapDatum(m: Map<string, string>): Datum {
  return makeDatum([...m.keys()], [...m.values()], 'smap');
}

function cmdBrSetExternalId(ctx: Context): void {
  const cache = populateCache(ctx);
  const br = findBridge(ctx, cache, ctx.argv[1]!, true)!;
  const value = ctx.argv.length >= 4 ? ctx.argv[3]! : undefined;
  let row: TxnRow;
  let key = ctx.argv[2]!;
  if (br.cfg) {
    row = br.cfg;
  } else {
    key = `fake-bridge-${key}`;
    row = cache.ports.get(ctx.argv[1]!)!.cfg;
  }
  const m = smapOf(row, 'external_ids');
  m.delete(key);
  if (value !== undefined) m.set(key, value);
  ctx.txn.verify(row, 'external_ids');
  ctx.txn.write(row, 'external_ids', smapDatum(m));
}

function cmdBrGetExternalId(ctx: Context): void {
  const cache = populateCache(ctx);
  const br = findBridge(ctx, cache, ctx.argv[1]!, true)!;
  const row = br.cfg ?? cache.ports.get(ctx.argv[1]!)!.cfg;
  const prefix = br.cfg ? '' : 'fake-bridge-';
  ctx.txn.verify(row, 'external_ids');
  const m = smapOf(row, 'external_ids');
  if (ctx.argv.length >= 3) {
    const v = m.get(prefix + ctx.argv[2]!);
    if (v !== undefined) ctx.out(`${v}\n`);
  } else {
    for (const k of [...m.keys()].sort(byteCompare)) if (k.startsWith(prefix)) ctx.out(`${k.slice(prefix.length)}=${m.get(k)!}\n`);
  }
}

function cmdListPorts(ctx: Context): void {
  const cache = populateCache(ctx);
  const br = findBridge(ctx, cache, ctx.argv[1]!, true)!;
  ctx.txn.verify(br.cfg ?? br.parent!.cfg!, 'ports');
  outputSorted(
    ctx,
    br.ports.map((p) => str(p.cfg, 'name')).filter((n) => n !== br.name),
  );
}

function addPort(ctx: Context, brName: string, portName: string, mayExist: boolean, fakeIface: boolean, ifaceNames: string[], settings: string[]): void {
  if (!portName) fatal('port name must not be empty string');
  for (const i of ifaceNames) if (!i) fatal('interface name must not be empty string');
  const cache = populateCache(ctx);
  if (mayExist) {
    const vp = findPort(ctx, cache, portName, false);
    if (vp) {
      const want = [...ifaceNames].sort(byteCompare);
      const have = refs(ctx, vp.cfg, 'interfaces', 'Interface')
        .map((i) => str(i, 'name'))
        .sort(byteCompare);
      if (vp.bridge.name !== brName) fatal(`"${contextToString(ctx)}" but ${portName} is actually attached to bridge ${vp.bridge.name}`);
      if (want.join('\0') !== have.join('\0')) fatal(`"${contextToString(ctx)}" but ${portName} actually has interface(s) ${have.join(', ')}`);
      return;
    }
  }
  checkConflicts(ctx, cache, portName, `cannot create a port named ${portName}`);
  for (const i of ifaceNames) checkConflicts(ctx, cache, i, `cannot create an interface named ${i}`);
  const bridge = findBridge(ctx, cache, brName, true)!;
  const txn = ctx.txn;
  const ifaces = ifaceNames.map((n) => {
    const r = txn.insert('Interface');
    txn.write(r, 'name', scalar(n));
    return r;
  });
  const port = txn.insert('Port');
  txn.write(port, 'name', scalar(portName));
  setRefs(ctx, port, 'interfaces', ifaces);
  if (hasColumn(port, 'bond_fake_iface')) txn.write(port, 'bond_fake_iface', scalar(fakeIface));
  if (bridge.parent) txn.write(port, 'tag', scalar(bridge.vlan));
  for (const s of settings) setColumn(ctx, port.table, port, s);
  bridgeInsertPort(ctx, bridge.parent ? bridge.parent.cfg! : bridge.cfg!, port);
  const vp = addPortToCache(cache, bridge, port);
  for (const i of ifaces) addIfaceToCache(cache, vp, i);
}

function cmdAddPort(ctx: Context): void {
  addPort(ctx, ctx.argv[1]!, ctx.argv[2]!, ctx.has('--may-exist'), false, [ctx.argv[2]!], ctx.argv.slice(3));
}

function cmdAddBond(ctx: Context): void {
  const rest = ctx.argv.slice(3);
  let n = rest.findIndex((a) => a.includes('='));
  if (n < 0) n = rest.length;
  if (n < 2) fatal(`add-bond requires at least 2 interfaces, but only ${n} were specified`);
  addPort(ctx, ctx.argv[1]!, ctx.argv[2]!, ctx.has('--may-exist'), ctx.has('--fake-iface'), rest.slice(0, n), rest.slice(n));
}

function cmdDelPort(ctx: Context): void {
  const mustExist = !ctx.has('--if-exists');
  const withIface = ctx.has('--with-iface');
  const target = ctx.argv[ctx.argv.length - 1]!;
  const cache = populateCache(ctx);
  let port: VPort | undefined;
  if (findBridge(ctx, cache, target, false)) {
    if (mustExist) {
      fatal(`cannot delete port ${target} because it is the local port for bridge ${target} (deleting this port requires deleting the entire bridge)`);
    }
    port = undefined;
  } else if (!withIface) {
    port = findPort(ctx, cache, target, mustExist);
  } else {
    port = findPort(ctx, cache, target, false);
    if (!port) port = findIface(ctx, cache, target, false)?.port;
    if (mustExist && !port) fatal(`no port or interface named ${target}`);
  }
  if (!port) return;
  if (ctx.argv.length === 3) {
    const bridge = findBridge(ctx, cache, ctx.argv[1]!, true)!;
    if (port.bridge !== bridge) {
      if (port.bridge.parent === bridge) {
        fatal(`bridge ${ctx.argv[1]!} does not have a port ${ctx.argv[2]!} (although its child bridge ${port.bridge.name} does)`);
      }
      fatal(`bridge ${ctx.argv[1]!} does not have a port ${ctx.argv[2]!}`);
    }
  }
  delPort(ctx, cache, port);
}

function cmdPortToBr(ctx: Context): void {
  const cache = populateCache(ctx);
  ctx.out(`${findPort(ctx, cache, ctx.argv[1]!, true)!.bridge.name}\n`);
}

function cmdBrToVlan(ctx: Context): void {
  const cache = populateCache(ctx);
  ctx.out(`${findBridge(ctx, cache, ctx.argv[1]!, true)!.vlan}\n`);
}

function cmdBrToParent(ctx: Context): void {
  const cache = populateCache(ctx);
  const br = findBridge(ctx, cache, ctx.argv[1]!, true)!;
  ctx.out(`${(br.parent ?? br).name}\n`);
}

function cmdListIfaces(ctx: Context): void {
  const cache = populateCache(ctx);
  const br = findBridge(ctx, cache, ctx.argv[1]!, true)!;
  verifyPorts(ctx);
  const names: string[] = [];
  for (const p of br.ports) for (const i of p.ifaces) if (str(i.cfg, 'name') !== br.name) names.push(str(i.cfg, 'name'));
  outputSorted(ctx, names);
}

function cmdIfaceToBr(ctx: Context): void {
  const cache = populateCache(ctx);
  ctx.out(`${findIface(ctx, cache, ctx.argv[1]!, true)!.port.bridge.name}\n`);
}

function verifyControllers(ctx: Context, br: TxnRow): void {
  ctx.txn.verify(br, 'controller');
  for (const c of refs(ctx, br, 'controller', 'Controller')) ctx.txn.verify(c, 'target');
}

function cmdGetController(ctx: Context): void {
  const cache = populateCache(ctx);
  let br = findBridge(ctx, cache, ctx.argv[1]!, true)!;
  if (br.parent) br = br.parent;
  verifyControllers(ctx, br.cfg!);
  outputSorted(
    ctx,
    refs(ctx, br.cfg!, 'controller', 'Controller').map((c) => str(c, 'target')),
  );
}

function cmdDelController(ctx: Context): void {
  const cache = populateCache(ctx);
  const br = findRealBridge(ctx, cache, ctx.argv[1]!, true)!.cfg!;
  verifyControllers(ctx, br);
  const ctrls = refs(ctx, br, 'controller', 'Controller');
  if (ctrls.length) {
    for (const c of ctrls) ctx.txn.delete(c);
    setRefs(ctx, br, 'controller', []);
  }
}

const CONNECT_PREFIXES = ['tcp:', 'ssl:', 'unix:'];
const LISTEN_PREFIXES = ['ptcp:', 'pssl:', 'punix:'];

function verifyTarget(ctx: Context, target: string): void {
  const known = [...CONNECT_PREFIXES, ...LISTEN_PREFIXES];
  if (!known.some((p) => target.startsWith(p))) {
    ctx.log('vsctl', 'WARN', `target type "${target}" is possibly erroneous`);
  }
}

function cmdSetController(ctx: Context): void {
  const cache = populateCache(ctx);
  const br = findRealBridge(ctx, cache, ctx.argv[1]!, true)!.cfg!;
  verifyControllers(ctx, br);
  for (const c of refs(ctx, br, 'controller', 'Controller')) ctx.txn.delete(c);
  setRefs(ctx, br, 'controller', insertTargets(ctx, 'Controller', ctx.argv.slice(2)));
}

/** A Controller or Manager row per target, with --inactivity-probe when given. */
function insertTargets(ctx: Context, table: 'Controller' | 'Manager', targets: string[]): TxnRow[] {
  const probe = ctx.option('--inactivity-probe');
  return targets.map((t) => {
    verifyTarget(ctx, t);
    const row = ctx.txn.insert(table);
    ctx.txn.write(row, 'target', scalar(t));
    if (probe !== undefined) ctx.txn.write(row, 'inactivity_probe', scalar(atoi(probe)));
    return row;
  });
}

function cmdGetFailMode(ctx: Context): void {
  const cache = populateCache(ctx);
  let br = findBridge(ctx, cache, ctx.argv[1]!, true)!;
  if (br.parent) br = br.parent;
  ctx.txn.verify(br.cfg!, 'fail_mode');
  const m = opt(br.cfg!, 'fail_mode');
  if (typeof m === 'string' && m.length) ctx.out(`${m}\n`);
}

function cmdDelFailMode(ctx: Context): void {
  const cache = populateCache(ctx);
  const br = findRealBridge(ctx, cache, ctx.argv[1]!, true)!;
  ctx.txn.write(br.cfg!, 'fail_mode', { keys: [] });
}

function cmdSetFailMode(ctx: Context): void {
  const cache = populateCache(ctx);
  const br = findRealBridge(ctx, cache, ctx.argv[1]!, true)!;
  const mode = ctx.argv[2]!;
  if (mode !== 'standalone' && mode !== 'secure') fatal('fail-mode must be "standalone" or "secure"');
  ctx.txn.write(br.cfg!, 'fail_mode', scalar(mode));
}

function verifyManagers(ctx: Context): void {
  ctx.txn.verify(ctx.ovs, 'manager_options');
  for (const m of refs(ctx, ctx.ovs, 'manager_options', 'Manager')) ctx.txn.verify(m, 'target');
}

function cmdGetManager(ctx: Context): void {
  verifyManagers(ctx);
  const targets = [...new Set(refs(ctx, ctx.ovs, 'manager_options', 'Manager').map((m) => str(m, 'target')))];
  outputSorted(ctx, targets);
}

function deleteManagers(ctx: Context): void {
  for (const m of refs(ctx, ctx.ovs, 'manager_options', 'Manager')) ctx.txn.delete(m);
  setRefs(ctx, ctx.ovs, 'manager_options', []);
}

function cmdDelManager(ctx: Context): void {
  verifyManagers(ctx);
  deleteManagers(ctx);
}

function cmdSetManager(ctx: Context): void {
  verifyManagers(ctx);
  deleteManagers(ctx);
  setRefs(ctx, ctx.ovs, 'manager_options', insertTargets(ctx, 'Manager', ctx.argv.slice(1)));
}

/** The Open_vSwitch row's SSL row, if it has one. */
function sslRow(ctx: Context): TxnRow | undefined {
  ctx.txn.verify(ctx.ovs, 'ssl');
  return refs(ctx, ctx.ovs, 'ssl', 'SSL')[0];
}

function cmdGetSsl(ctx: Context): void {
  const ssl = sslRow(ctx);
  if (!ssl) return;
  for (const c of ['private_key', 'certificate', 'ca_cert', 'bootstrap_ca_cert']) ctx.txn.verify(ssl, c);
  ctx.out(`Private key: ${str(ssl, 'private_key')}\n`);
  ctx.out(`Certificate: ${str(ssl, 'certificate')}\n`);
  ctx.out(`CA Certificate: ${str(ssl, 'ca_cert')}\n`);
  ctx.out(`Bootstrap: ${opt(ssl, 'bootstrap_ca_cert') === true ? 'true' : 'false'}\n`);
}

function cmdDelSsl(ctx: Context): void {
  const ssl = sslRow(ctx);
  if (!ssl) return;
  ctx.txn.delete(ssl);
  setRefs(ctx, ctx.ovs, 'ssl', []);
}

function cmdSetSsl(ctx: Context): void {
  const old = sslRow(ctx);
  if (old) ctx.txn.delete(old);
  const ssl = ctx.txn.insert('SSL');
  ctx.txn.write(ssl, 'private_key', scalar(ctx.argv[1]!));
  ctx.txn.write(ssl, 'certificate', scalar(ctx.argv[2]!));
  ctx.txn.write(ssl, 'ca_cert', scalar(ctx.argv[3]!));
  ctx.txn.write(ssl, 'bootstrap_ca_cert', scalar(ctx.has('--bootstrap')));
  setRefs(ctx, ctx.ovs, 'ssl', [ssl]);
}

function cmdEmerReset(ctx: Context): void {
  const txn = ctx.txn;
  const has = (t: string): boolean => txn.schema.tables.has(t);
  const clear = (row: TxnRow, column: string): void => {
    if (hasColumn(row, column)) txn.write(row, column, row.table.columnsByName.get(column)!.type.value ? { keys: [], values: [] } : { keys: [] });
  };
  clear(ctx.ovs, 'manager_options');
  clear(ctx.ovs, 'ssl');
  for (const br of txn.rowsOf('Bridge')) {
    for (const c of ['controller', 'fail_mode', 'mirrors', 'netflow', 'sflow', 'ipfix', 'flood_vlans']) clear(br, c);
    const hw = smapOf(br, 'other_config').get('hwaddr');
    if (hw !== undefined) txn.write(br, 'other_config', smapDatum(new Map([['hwaddr', hw]])));
    else clear(br, 'other_config');
  }
  for (const p of txn.rowsOf('Port')) clear(p, 'other_config');
  for (const i of txn.rowsOf('Interface')) {
    for (const c of ['ingress_policing_rate', 'ingress_policing_burst']) if (hasColumn(i, c)) txn.write(i, c, scalar(0));
  }
  for (const t of ['Mirror', 'Controller', 'Manager', 'NetFlow', 'SSL', 'sFlow', 'IPFIX', 'Flow_Sample_Collector_Set']) {
    if (has(t)) for (const r of txn.rowsOf(t)) txn.delete(r);
  }
  ctx.invalidateCache();
}

function cmd(name: string, minArgs: number, maxArgs: number, args: string, run: (ctx: Context) => void, options: string, mode: 'RO' | 'RW'): CommandSyntax {
  return { name, minArgs, maxArgs, arguments: args, run, options, mode };
}

const MAX = Number.MAX_SAFE_INTEGER;

export const VSWITCH_COMMANDS: CommandSyntax[] = [
  cmd('init', 0, 0, '', () => undefined, '', 'RW'),
  cmd('emer-reset', 0, 0, '', cmdEmerReset, '', 'RW'),
  cmd('add-br', 1, 3, 'NEW-BRIDGE [PARENT] [NEW-VLAN]', cmdAddBr, '--may-exist', 'RW'),
  cmd('del-br', 1, 1, 'BRIDGE', cmdDelBr, '--if-exists', 'RW'),
  cmd('list-br', 0, 0, '', cmdListBr, '--real,--fake', 'RO'),
  cmd('br-exists', 1, 1, 'BRIDGE', cmdBrExists, '', 'RO'),
  cmd('br-to-vlan', 1, 1, 'BRIDGE', cmdBrToVlan, '', 'RO'),
  cmd('br-to-parent', 1, 1, 'BRIDGE', cmdBrToParent, '', 'RO'),
  cmd('br-set-external-id', 2, 3, 'BRIDGE KEY [VALUE]', cmdBrSetExternalId, '', 'RW'),
  cmd('br-get-external-id', 1, 2, 'BRIDGE [KEY]', cmdBrGetExternalId, '', 'RO'),
  cmd('list-ports', 1, 1, 'BRIDGE', cmdListPorts, '', 'RO'),
  cmd('add-port', 2, MAX, 'BRIDGE NEW-PORT [COLUMN[:KEY]=VALUE]...', cmdAddPort, '--may-exist', 'RW'),
  cmd('del-port', 1, 2, '[BRIDGE] PORT|IFACE', cmdDelPort, '--if-exists,--with-iface', 'RW'),
  cmd('port-to-br', 1, 1, 'PORT', cmdPortToBr, '', 'RO'),
  cmd('add-bond', 4, MAX, 'BRIDGE BOND IFACE... [COLUMN[:KEY]=VALUE]...', cmdAddBond, '--may-exist,--fake-iface', 'RW'),
  cmd('list-ifaces', 1, 1, 'BRIDGE', cmdListIfaces, '', 'RO'),
  cmd('iface-to-br', 1, 1, 'IFACE', cmdIfaceToBr, '', 'RO'),
  cmd('get-controller', 1, 1, 'BRIDGE', cmdGetController, '', 'RO'),
  cmd('del-controller', 1, 1, 'BRIDGE', cmdDelController, '', 'RW'),
  cmd('set-controller', 1, MAX, 'BRIDGE TARGET...', cmdSetController, '--inactivity-probe=', 'RW'),
  cmd('get-fail-mode', 1, 1, 'BRIDGE', cmdGetFailMode, '', 'RO'),
  cmd('del-fail-mode', 1, 1, 'BRIDGE', cmdDelFailMode, '', 'RW'),
  cmd('set-fail-mode', 2, 2, 'BRIDGE MODE', cmdSetFailMode, '', 'RW'),
  cmd('get-manager', 0, 0, '', cmdGetManager, '', 'RO'),
  cmd('del-manager', 0, 0, '', cmdDelManager, '', 'RW'),
  cmd('set-manager', 1, MAX, 'TARGET...', cmdSetManager, '--inactivity-probe=', 'RW'),
  cmd('get-ssl', 0, 0, '', cmdGetSsl, '', 'RO'),
  cmd('del-ssl', 0, 0, '', cmdDelSsl, '', 'RW'),
  cmd('set-ssl', 3, 3, 'PRIVATE-KEY CERTIFICATE CA-CERT', cmdSetSsl, '--bootstrap', 'RW'),
];
