// Two hosts on one machine, for overlay (tunnel) tests and the tunnel benchmark: namespaces "host
// A" and "host B" joined by an underlay veth (eth0, 192.168.50.1/24 and .2/24, or with
// `underlay: 'ipv6'` fd50::1/64 and ::2/64; MTU 1600 so that a 1500-byte overlay frame fits with
// its tunnel header), each with a switch of its own running
// inside it, and "VM" namespaces behind veth ports of those switches on one overlay subnet
// (10.10.0.0/24). The switch on a host is TVS (tvs-vswitchd with its own TVS_RUNDIR, TVS_DBDIR
// and TVS_LOGDIR, driven through the commands with that environment), Debian's Open vSwitch on
// its userspace datapath, or the kernel's own (a vxlan/gretap/geneve device in a Linux bridge).
// cleanup() stops every daemon and deletes every namespace, whatever state a test left.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, run, type Host } from '../../src/lib/netns.js';
import { alive, startOvsDaemons } from '../../scripts/bench/ovs-daemons.js';
import { runForExit, type CliExit } from './run-exit.js';
import { eventually } from './eventually.js';

/** The repository: this file runs from test/helpers/ (tests) or, compiled for the benchmark, from dist/test/helpers/. */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = dirname(dir);
  }
  return dir;
}

const CLI = join(repositoryRoot(), 'dist', 'src', 'cli');

export type TunnelType = 'vxlan' | 'gre' | 'geneve';

export interface TunnelSpec {
  type: TunnelType;
  /** VNI (VXLAN, Geneve) or GRE key; none by default. */
  key?: number;
  /** The remote host's underlay address; the other host's by default. */
  remoteIp?: string;
  /** Make the tunnel port an access port of this VLAN (TVS and OVS), so each VLAN has a VNI of its own. */
  tag?: number;
}

/** One of the two hosts: a namespace with an underlay address. */
export interface UnderlayHost {
  /** "a" or "b". */
  name: string;
  ns: string;
  /** This host's underlay address (on eth0, or on OVS's br-phy). */
  underlayIp: string;
  /** The other host's underlay address. */
  peerIp: string;
  /** Run a command inside the host's namespace. */
  exec(cmd: string, args: string[], opts?: { timeoutMs?: number }): Promise<string>;
}

/** The switch on one host, whatever its kind. */
export interface OverlaySwitch {
  kind: 'tvs' | 'ovs' | 'kernel';
  host: UnderlayHost;
  /** A VM namespace with `ip` (CIDR) behind a veth port of the switch (an access port of VLAN `tag`). */
  addVm(role: string, ip: string, opts?: { tag?: number }): Promise<VmHost>;
  /** A tunnel port `name` to the other host. */
  addTunnel(name: string, spec: TunnelSpec): Promise<void>;
}

export interface VmHost extends Host {
  /** The switch's port for this VM (its veth end in the host namespace). */
  port: string;
}

/** tvs-vswitchd running inside a host namespace, and its commands with the same environment. */
export interface TvsSwitch extends OverlaySwitch {
  kind: 'tvs';
  /** TVS_RUNDIR, TVS_DBDIR and TVS_LOGDIR of this switch. */
  dir: string;
  /** The environment its commands run with (TVS_RUNDIR=..., TVS_DBDIR=..., TVS_LOGDIR=...). */
  env: string[];
  vsctl(...args: string[]): Promise<string>;
  appctl(...args: string[]): Promise<string>;
  dpctl(...args: string[]): Promise<string>;
  ofctl(...args: string[]): Promise<string>;
  /** Any TVS command (tvs-vsctl, tvsdb-client, ...) in the host namespace with this switch's environment. */
  cli(command: string, args: string[]): Promise<CliExit>;
}

/** Debian's ovsdb-server and ovs-vswitchd (userspace datapath) inside a host namespace. */
export interface OvsSwitch extends OverlaySwitch {
  kind: 'ovs';
  dir: string;
  vsctl(...args: string[]): Promise<string>;
  appctl(...args: string[]): Promise<string>;
}

const UNDERLAY_PREFIX = '192.168.50';
const UNDERLAY6_PREFIX = 'fd50:';

/** The underlay's address family. */
export type UnderlayFamily = 'ipv4' | 'ipv6';
export const OVERLAY_PREFIX = '10.10.0';

/** The kernel's link kind for a tunnel type (a bridgeable, Ethernet-carrying device). */
const KERNEL_KIND: Record<TunnelType, string> = { vxlan: 'vxlan', gre: 'gretap', geneve: 'geneve' };

/**
 * Why this kernel cannot make a `type` tunnel device, or undefined if it can: probed by creating
 * one in a scratch namespace (the module may be missing, as gretap and geneve are on some kernels).
 */
export async function kernelTunnelMissing(type: TunnelType): Promise<string | undefined> {
  const lab = new Lab({ kind: 'tvs-t' });
  try {
    const ns = await lab.addNamespace('probe');
    const args = type === 'gre' ? ['remote', '192.0.2.1', 'local', '192.0.2.2'] : ['id', '1', 'remote', '192.0.2.1', ...(type === 'vxlan' ? ['dstport', '4789'] : [])];
    const r = await runForExit('ip', ['-n', ns, 'link', 'add', 'probe0', 'type', KERNEL_KIND[type], ...args]);
    return r.code === 0 ? undefined : `this kernel has no ${KERNEL_KIND[type]} devices (ip link add type ${KERNEL_KIND[type]}: ${r.stderr.trim()})`;
  } finally {
    await lab.cleanup();
  }
}

export class Overlay {
  readonly a: UnderlayHost;
  readonly b: UnderlayHost;
  private readonly stops: (() => Promise<void>)[] = [];
  private vms = 0;

  private constructor(
    private readonly lab: Lab,
    a: string,
    b: string,
    readonly family: UnderlayFamily,
  ) {
    const host = (name: string, ns: string, ip: string, peerIp: string): UnderlayHost => ({
      name,
      ns,
      underlayIp: ip,
      peerIp,
      exec: (cmd, args, opts) => run('ip', ['netns', 'exec', ns, cmd, ...args], opts),
    });
    const [ipA, ipB] = family === 'ipv6' ? [`${UNDERLAY6_PREFIX}:1`, `${UNDERLAY6_PREFIX}:2`] : [`${UNDERLAY_PREFIX}.1`, `${UNDERLAY_PREFIX}.2`];
    this.a = host('a', a, ipA, ipB);
    this.b = host('b', b, ipB, ipA);
  }

  /** The underlay address of `host` with its prefix length, as `ip addr add` takes it (nodad: usable at once). */
  private underlayAddr(host: UnderlayHost, dev: string): string[] {
    return this.family === 'ipv6' ? ['addr', 'add', `${host.underlayIp}/64`, 'dev', dev, 'nodad'] : ['addr', 'add', `${host.underlayIp}/24`, 'dev', dev];
  }

  /** Host namespaces A and B joined by the underlay (IPv4 unless `underlay: 'ipv6'`); no switches yet. */
  static async create(opts: { kind?: string; underlay?: UnderlayFamily } = {}): Promise<Overlay> {
    const lab = new Lab({ kind: opts.kind ?? 'tvs-t' });
    try {
      const a = await lab.addNamespace('ha');
      const b = await lab.addNamespace('hb');
      await run('ip', ['link', 'add', 'eth0', 'netns', a, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b]);
      const o = new Overlay(lab, a, b, opts.underlay ?? 'ipv4');
      for (const h of [o.a, o.b]) {
        if (o.family === 'ipv4') await h.exec('sysctl', ['-qw', 'net.ipv6.conf.eth0.disable_ipv6=1']);
        // A real wire carries finished checksums (the NIC fills them in); a veth passes a checksum
        // left to offload unfinished, which OVS's userspace datapath then refuses when it decapsulates.
        await h.exec('ethtool', ['-K', 'eth0', 'tx', 'off']);
        await run('ip', ['-n', h.ns, 'link', 'set', 'eth0', 'mtu', '1600', 'up']);
        await run('ip', ['-n', h.ns, ...o.underlayAddr(h, 'eth0')]);
      }
      return o;
    } catch (e) {
      await lab.cleanup();
      throw e;
    }
  }

  /** Stop every switch (daemons first, then the namespaces they ran in); never throws. */
  async cleanup(): Promise<void> {
    for (const stop of this.stops.splice(0).reverse()) await stop().catch(() => undefined);
    await this.lab.cleanup();
  }

  /** A VM namespace behind a veth whose other end is in `host`'s namespace, up, for its switch to take as a port. */
  private async vm(host: UnderlayHost, role: string, ip: string): Promise<VmHost> {
    const port = this.lab.ifname(`${host.name}${++this.vms}`);
    await run('ip', ['link', 'add', port, 'netns', host.ns, 'type', 'veth', 'peer', 'name', `${port}v`]);
    await host.exec('sysctl', ['-qw', `net.ipv6.conf.${port}.disable_ipv6=1`]);
    await run('ip', ['-n', host.ns, 'link', 'set', port, 'up']);
    const vm = await this.lab.adoptIntoHost(`${host.name}-${role}`, `${port}v`, ip);
    return { ...vm, port };
  }

  /** tvs-vswitchd in `host`'s namespace with its own TVS_RUNDIR/TVS_DBDIR/TVS_LOGDIR and a bridge br0. */
  async tvs(host: UnderlayHost): Promise<TvsSwitch> {
    const dir = mkdtempSync(join(tmpdir(), `tvs-t-overlay-${host.name}-`));
    const env = [`TVS_RUNDIR=${dir}`, `TVS_DBDIR=${dir}`, `TVS_LOGDIR=${dir}`];
    const cli = (command: string, args: string[]) => runForExit('ip', ['netns', 'exec', host.ns, 'env', ...env, process.execPath, join(CLI, `${command}.js`), ...args]);
    const ok = async (command: string, args: string[]) => {
      const r = await cli(command, args);
      if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} (host ${host.name}) failed with status ${r.code}: ${r.stderr.trim()}`);
      return r.stdout;
    };
    const stop = async () => {
      const pidfile = join(dir, 'tvs-vswitchd.pid');
      const pid = existsSync(pidfile) ? Number(readFileSync(pidfile, 'utf8').trim()) : undefined;
      if (pid && alive(pid)) {
        process.kill(pid, 'SIGTERM');
        await eventually(() => !alive(pid), 10_000, `tvs-vswitchd on host ${host.name} to exit`).catch(() => process.kill(pid, 'SIGKILL'));
      }
      rmSync(dir, { recursive: true, force: true });
    };
    this.stops.push(stop);
    // Every default comes from the environment: database file, sockets, pidfile and log file.
    await ok('tvs-vswitchd', ['--detach', '--pidfile', '--log-file']);
    const sw: TvsSwitch = {
      kind: 'tvs',
      host,
      dir,
      env,
      cli,
      vsctl: (...args) => ok('tvs-vsctl', ['--timeout=20', ...args]),
      appctl: (...args) => ok('tvs-appctl', args),
      dpctl: (...args) => ok('tvs-dpctl', args),
      ofctl: (...args) => ok('tvs-ofctl', args),
      addVm: async (role, ip, opts = {}) => {
        const vm = await this.vm(host, role, ip);
        await sw.vsctl('add-port', 'br0', vm.port, ...(opts.tag === undefined ? [] : [`tag=${opts.tag}`]));
        return vm;
      },
      addTunnel: async (name, spec) => {
        await sw.vsctl('add-port', 'br0', name, ...portColumns(spec), '--', 'set', 'interface', name, ...tunnelColumns(spec, host));
      },
    };
    await sw.vsctl('add-br', 'br0');
    return sw;
  }

  /**
   * Debian's Open vSwitch on its userspace (netdev) datapath in `host`'s namespace: br-int for the
   * VMs and tunnels, and, as OVS documents for userspace tunnelling, br-phy holding the underlay
   * address with the physical port (eth0) in it, so that OVS's own routing and ARP find the peer.
   */
  async ovs(host: UnderlayHost): Promise<OvsSwitch> {
    const daemons = await startOvsDaemons({ purpose: `overlay-${host.name}`, exec: (command, args) => host.exec(command, args) });
    this.stops.push(daemons.stop);
    const { dir, vsctl } = daemons;
    await vsctl('add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'datapath_type=netdev');
    await vsctl('add-br', 'br-phy', '--', 'set', 'bridge', 'br-phy', 'datapath_type=netdev', '--', 'add-port', 'br-phy', 'eth0');
    await run('ip', ['-n', host.ns, 'addr', 'flush', 'dev', 'eth0']);
    await run('ip', ['-n', host.ns, ...this.underlayAddr(host, 'br-phy')]);
    await run('ip', ['-n', host.ns, 'link', 'set', 'br-phy', 'mtu', '1600', 'up']);
    const sw: OvsSwitch = {
      kind: 'ovs',
      host,
      dir,
      vsctl,
      appctl: daemons.appctl,
      addVm: async (role, ip, opts = {}) => {
        const vm = await this.vm(host, role, ip);
        // OVS's userspace datapath forwards what the VM's kernel left for checksum offload as is:
        // have the VM fill in its checksums (and segment) itself.
        await vm.exec('ethtool', ['-K', vm.ifname, 'tx', 'off', 'tso', 'off', 'gso', 'off']);
        await vsctl('add-port', 'br-int', vm.port, ...(opts.tag === undefined ? [] : [`tag=${opts.tag}`]));
        return vm;
      },
      addTunnel: async (name, spec) => {
        await vsctl('add-port', 'br-int', name, ...portColumns(spec), '--', 'set', 'interface', name, ...tunnelColumns(spec, host));
      },
    };
    return sw;
  }

  /** The Linux bridge br0 in `host`'s namespace, with the kernel's tunnel devices as its tunnel ports. */
  async kernel(host: UnderlayHost): Promise<OverlaySwitch> {
    await run('ip', ['-n', host.ns, 'link', 'add', 'br0', 'type', 'bridge']);
    await run('ip', ['-n', host.ns, 'link', 'set', 'br0', 'up']);
    return {
      kind: 'kernel',
      host,
      addVm: async (role, ip, opts = {}) => {
        if (opts.tag !== undefined) throw new Error('the kernel switch of this harness has no VLAN access ports');
        const vm = await this.vm(host, role, ip);
        await run('ip', ['-n', host.ns, 'link', 'set', vm.port, 'master', 'br0']);
        return vm;
      },
      addTunnel: async (name, spec) => {
        if (spec.tag !== undefined) throw new Error('the kernel switch of this harness has no VLAN access ports');
        const remote = spec.remoteIp ?? host.peerIp;
        const id = String(spec.key ?? 0);
        const args = {
          vxlan: ['id', id, 'remote', remote, 'local', host.underlayIp, 'dstport', '4789', 'dev', 'eth0'],
          gre: ['remote', remote, 'local', host.underlayIp, ...(spec.key === undefined ? [] : ['key', id])],
          geneve: ['id', id, 'remote', remote],
        }[spec.type];
        await run('ip', ['-n', host.ns, 'link', 'add', name, 'type', KERNEL_KIND[spec.type], ...args]);
        await run('ip', ['-n', host.ns, 'link', 'set', name, 'master', 'br0', 'up']);
      },
    };
  }
}

function portColumns(spec: TunnelSpec): string[] {
  return spec.tag === undefined ? [] : [`tag=${spec.tag}`];
}

/** The Interface columns of a tunnel port, in the words of `ovs-vsctl set interface` (TVS's and OVS's alike). */
function tunnelColumns(spec: TunnelSpec, host: UnderlayHost): string[] {
  return [`type=${spec.type}`, `options:remote_ip=${spec.remoteIp ?? host.peerIp}`, ...(spec.key === undefined ? [] : [`options:key=${spec.key}`])];
}

/** The datapath port TVS (like OVS's kernel datapath) receives a tunnel type on at its default UDP port. */
export const VPORT: Record<TunnelType, string> = { vxlan: 'vxlan_sys_4789', gre: 'gre_sys', geneve: 'genev_sys_6081' };

/** The RX errors plus RX drops `tvs-dpctl show -s` counts on datapath port `port`. */
export async function rxDiscards(sw: TvsSwitch, port: string): Promise<number> {
  const lines = (await sw.dpctl('show', '-s')).split('\n');
  const at = lines.findIndex((l) => new RegExp(`^  port \\d+: ${port}\\b`).test(l));
  const rx = at < 0 ? undefined : /RX packets:\d+ errors:(\d+) dropped:(\d+)/.exec(lines[at + 1] ?? '');
  if (!rx) throw new Error(`tvs-dpctl show -s on host ${sw.host.name} has no RX counters for port ${port}:\n${lines.join('\n')}`);
  return Number(rx[1]) + Number(rx[2]);
}
