// Network namespaces and veth pairs as test hosts: the topology helpers the
// demo, the integration tests and the benchmark share. Everything created
// through a Lab is removed by lab.cleanup(), even after a failure.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { formatMac } from './addr.js';

const execFileAsync = promisify(execFile);

/** Run a command; on failure the error names the command and its stderr. */
export async function run(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    const detail = (e.stderr || e.stdout || e.message).trim();
    throw new Error(`\`${cmd} ${args.join(' ')}\` failed: ${detail}`, { cause: err });
  }
}

export interface Host {
  /** Namespace name. */
  ns: string;
  /** Interface inside the namespace. */
  ifname: string;
  ip: string;
  mac: string;
  /** Run a command inside the namespace. */
  exec(cmd: string, args: string[], opts?: { timeoutMs?: number }): Promise<string>;
}

/** A set of namespaces and links made for one test or demo run. */
export class Lab {
  private static counter = 0;
  /** Prefix of every namespace this lab makes, e.g. `tvs-t-12345-0`. */
  readonly prefix: string;
  private readonly tag: string;
  private readonly namespaces: string[] = [];
  private readonly links: string[] = [];
  private seq = 0;

  /**
   * `kind` names the user (`tvs-t` for tests, `tvs-sw` for the Switch API, `tvs-bench`); `tag` keeps
   * concurrent runs apart and defaults to the pid plus a counter.
   */
  constructor(opts: { kind?: string; tag?: string } = {}) {
    this.tag = opts.tag ?? `${process.pid % 100000}${Lab.counter++}`;
    this.prefix = `${opts.kind ?? 'tvs-t'}-${this.tag}`;
  }

  /** A short interface name unique to this lab (IFNAMSIZ is 16). */
  ifname(role: string): string {
    const name = `tv${this.tag}${role}`;
    if (name.length > 15) throw new Error(`interface name ${name} is longer than 15 bytes: use a shorter role`);
    return name;
  }

  /** Delete namespaces left by an earlier run of this kind that was killed before its cleanup. */
  static async removeStale(kind: string): Promise<void> {
    const list = await run('ip', ['netns', 'list']);
    for (const line of list.split('\n')) {
      const ns = line.split(' ')[0]!;
      if (ns.startsWith(`${kind}-`)) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
  }

  async addNamespace(role: string): Promise<string> {
    const ns = `${this.prefix}-${role}`;
    await run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * A namespace host wired by a veth pair: `eth0` inside with `ip` (CIDR),
   * and the returned switch-side interface in the root namespace, up.
   */
  async addVethHost(role: string, ip: string): Promise<{ host: Host; switchIf: string }> {
    const ns = await this.addNamespace(role);
    const switchIf = this.ifname(role);
    const inner = `${switchIf}i`;
    await run('ip', ['link', 'add', switchIf, 'type', 'veth', 'peer', 'name', inner]);
    this.links.push(switchIf);
    await run('ip', ['link', 'set', inner, 'netns', ns]);
    await run('ip', ['-n', ns, 'link', 'set', inner, 'name', 'eth0']);
    // The switch's end sends nothing of its own either (router solicitations into the host).
    await run('sysctl', ['-qw', `net.ipv6.conf.${switchIf}.disable_ipv6=1`]);
    await run('ip', ['link', 'set', switchIf, 'up']);
    const host = await this.configureHost(ns, 'eth0', ip);
    return { host, switchIf };
  }

  /** Move an existing interface (e.g. a tap the switch holds) into a new namespace host. */
  async adoptIntoHost(role: string, ifname: string, ip: string): Promise<Host> {
    const ns = await this.addNamespace(role);
    await run('ip', ['link', 'set', ifname, 'netns', ns]);
    return this.configureHost(ns, ifname, ip);
  }

  private async configureHost(ns: string, ifname: string, ip: string): Promise<Host> {
    // Fixed, locally administered MACs make captures and MAC tables readable.
    const mac = formatMac(Buffer.from([0x02, 0, 0, (this.seq >> 8) & 0xff, this.seq & 0xff, this.namespaces.length & 0xff]));
    this.seq++;
    await run('ip', ['-n', ns, 'link', 'set', ifname, 'address', mac]);
    // No IPv6 DAD, router solicitations or MLD reports: they add stray
    // frames to counters. Off before the link is up, which would send them.
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${ifname}.disable_ipv6=1`]);
    await run('ip', ['-n', ns, 'addr', 'add', ip, 'dev', ifname]);
    await run('ip', ['-n', ns, 'link', 'set', ifname, 'up']);
    return {
      ns,
      ifname,
      ip: ip.split('/')[0]!,
      mac,
      exec: (cmd, args, opts) => run('ip', ['netns', 'exec', ns, cmd, ...args], opts),
    };
  }

  /** Register an interface made elsewhere so cleanup() deletes it too. */
  trackLink(name: string): void {
    this.links.push(name);
  }

  /** Delete everything this lab made; never throws. */
  async cleanup(): Promise<void> {
    for (const link of this.links.splice(0)) {
      await run('ip', ['link', 'del', link]).catch(() => undefined);
    }
    for (const ns of this.namespaces.splice(0)) {
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
  }
}

/** Ping `ip` from `host`; resolves to the number of replies. */
export async function ping(host: Host, ip: string, count = 3, intervalS = 0.2): Promise<number> {
  const out = await host
    .exec('ping', ['-c', String(count), '-i', String(intervalS), '-W', '2', ip], { timeoutMs: 20_000 })
    .catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
  const m = /(\d+) received/.exec(out);
  return m ? Number(m[1]) : 0;
}
