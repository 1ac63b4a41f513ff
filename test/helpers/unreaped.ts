// A daemon whose parent never reaps it, as under a container's PID 1 that never calls wait():
// a shell starts the daemon in the background, prints its pid and execs into sleep, so a killed
// daemon stays a zombie until the test ends the sleep.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { eventually } from './eventually.js';

export interface Unreaped {
  /** The daemon's pid. */
  pid: number;
  /** Everything the daemon wrote to stderr so far. */
  stderr(): string;
  /** Ends the parent that never reaps (and with it any zombie), and the daemon if it still runs. */
  cleanup(): void;
}

/** Starts `args[0]` with the rest of `args` under a parent that will never wait for it. */
export async function spawnUnreaped(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Unreaped> {
  const parent: ChildProcess = spawn('sh', ['-c', '"$0" "$@" & echo $!; exec sleep 100000', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  parent.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const pid = await new Promise<number>((resolve, reject) => {
    parent.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    parent.once('exit', () => reject(new Error(`the shell exited before starting ${args[0]!}: ${err}`)));
  });
  return {
    pid,
    stderr: () => err,
    cleanup() {
      if (processState(pid) !== 'Z' && processState(pid) !== undefined) process.kill(pid, 'SIGKILL');
      parent.kill('SIGKILL');
    },
  };
}

/** The state letter in /proc/PID/stat (R, S, Z...), or undefined once the process is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ...": comm may hold spaces and parentheses, so read after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** How many threads of `pid` have not finished exiting, the zombie leader included. */
function threadsLeft(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return 0;
  }
}

/**
 * Kills `pid` with SIGKILL and waits until it is a zombie that nobody has reaped, with all its
 * threads gone. The leader of a threaded process (node) shows Z while its other threads are still
 * exiting, and the files they share, a listening socket among them, stay open until the last one
 * is done: a client could still connect to the killed server then, and lose its connection.
 */
export async function killToZombie(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await eventually(() => processState(pid) === 'Z' && threadsLeft(pid) === 1, 10_000, `process ${pid} to become a zombie`);
}
