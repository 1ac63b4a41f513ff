// Shared by the OVSDB compat tests: real OVS tools (installed from Debian when missing), a
// tvsdb-server child process on a database in a temp dir, and cleanup that runs even on failure.

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { createDatabaseFile } from '../../src/ovsdb/db-file.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DEBIAN_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The tests run the built CLIs (as users do); build when dist is missing or older than src. */
export function ensureBuilt(): void {
  const cli = join(ROOT, 'dist/src/cli/tvsdb-server.js');
  const stale = !existsSync(cli) || statSync(cli).mtimeMs < Math.max(newestMtime(join(ROOT, 'src/ovsdb')), newestMtime(join(ROOT, 'src/lib')));
  if (stale) {
    try {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'pipe' });
    } catch {
      // Errors elsewhere in the tree do not stop tsc from emitting our files.
    }
  }
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first`);
}

/** Installs Debian's openvswitch packages if the real tools are missing. */
export function ensureOvsTools(): void {
  const have = (tool: string): boolean => ['/usr/bin', '/usr/sbin'].some((d) => existsSync(join(d, tool)));
  if (have('ovs-vsctl') && have('ovsdb-client') && have('ovsdb-server')) return;
  execFileSync('apt-get', ['install', '-y', 'openvswitch-common', 'openvswitch-switch'], {
    stdio: 'pipe',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 300_000,
  });
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((done) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'tvsdb-'));
  file(name: string): string {
    return join(this.path, name);
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export async function createDb(path: string, schemaPath: string): Promise<void> {
  await createDatabaseFile(path, JSON.parse(await readFile(schemaPath, 'utf8')));
}

/** A tvsdb-server child serving one database file. */
export class ServerProcess {
  private exited: Promise<number | null>;
  stderr = '';

  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  static async start(dbPath: string, remotes: string[], extra: string[] = []): Promise<ServerProcess> {
    const args = [join(ROOT, 'dist/src/cli/tvsdb-server.js'), ...remotes.map((r) => `--remote=${r}`), ...extra, dbPath];
    const sp = new ServerProcess(spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    await sp.waitReady(remotes);
    return sp;
  }

  private async waitReady(remotes: string[]): Promise<void> {
    const deadline = Date.now() + 10_000;
    // Connect rather than look for the socket file: a killed server leaves a stale one behind.
    const targets = remotes.map((r) => (r.startsWith('punix:') ? r.slice(6) : Number(r.split(':')[1])));
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`tvsdb-server exited with ${this.child.exitCode}: ${this.stderr}`);
      const ok = (await Promise.all(targets.map(canConnect))).every(Boolean);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`tvsdb-server did not start listening: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Stops the server (SIGTERM unless told otherwise) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

async function canConnect(target: string | number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((r) => {
    const s = typeof target === 'string' ? connect(target) : connect(target, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      r(true);
    });
    s.once('error', () => r(false));
  });
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((r) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => r(port));
    });
  });
}
