// A tvs-vswitchd of a script's own, in its own process (database, sockets and pidfile in a temp
// directory), and what the long-run scripts (flood-memory, soak) read from outside it: its
// resident memory, JS heap and open file descriptors, as a user would with ps and ls /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../src/lib/netns.js';
import { unixctlCall } from '../src/lib/unixctl.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli');

export interface MemorySample {
  /** Resident set size of the daemon process, kB (/proc/PID/status VmRSS). */
  rssKb: number;
  /** V8 heap in use, kB (memory/show). */
  heapKb: number;
  /** Open file descriptors of the daemon. */
  fds: number;
}

export class DaemonProcess {
  private constructor(
    readonly dir: string,
    private readonly child: ChildProcess,
  ) {}

  get db(): string {
    return `unix:${join(this.dir, 'db.sock')}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(): Promise<DaemonProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'tvs-script-'));
    const child = spawn(
      process.execPath,
      [join(CLI, 'tvs-vswitchd.js'), `--db-file=${join(dir, 'conf.db')}`, `--db-socket=${join(dir, 'db.sock')}`, `--unixctl=${join(dir, 'tvs-vswitchd.ctl')}`, `--pidfile=${join(dir, 'pid')}`],
      { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, TVS_RUNDIR: dir } },
    );
    const d = new DaemonProcess(dir, child);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`tvs-vswitchd exited with status ${child.exitCode} while starting`);
      if (await d.appctl('version').then(() => true, () => false)) return d;
      if (Date.now() > deadline) throw new Error('tvs-vswitchd did not answer on its control socket within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  vsctl(...args: string[]): Promise<string> {
    return run(process.execPath, [join(CLI, 'tvs-vsctl.js'), `--db=${this.db}`, '--timeout=30', ...args], { timeoutMs: 60_000 });
  }

  ofctl(...args: string[]): Promise<string> {
    return run(process.execPath, [join(CLI, 'tvs-ofctl.js'), ...args], { timeoutMs: 60_000 });
  }

  /** A unixctl command, answered in-process (no CLI start-up per call); throws with the daemon's error text. */
  async appctl(command: string, ...args: string[]): Promise<string> {
    const reply = await unixctlCall(join(this.dir, 'tvs-vswitchd.ctl'), command, args, { timeoutMs: 30_000 });
    if (!reply.ok) throw new Error(`tvs-appctl ${command}: ${reply.output}`);
    return reply.output;
  }

  async memory(): Promise<MemorySample> {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]);
    const heapKb = Number(/heap:(\d+)kB/.exec(await this.appctl('memory/show'))![1]);
    return { rssKb, heapKb, fds: readdirSync(`/proc/${this.pid}/fd`).length };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
