// A ping left running in a namespace host, with the time each reply came
// back: what a test needs to measure how long a host was unreachable.
import { spawn } from 'node:child_process';
import type { Host } from '../../src/lib/netns.js';

export interface Reply {
  seq: number;
  /** When the reply arrived (wall clock, ms), as `ping -D` stamps it. */
  at: number;
}

export interface Pinger {
  /** Replies so far, in order of arrival. */
  readonly replies: Reply[];
  /** Resolves once `enough(replies)` holds; rejects, naming `what`, after `timeoutMs`. */
  until(enough: (replies: Reply[]) => boolean, timeoutMs: number, what: string): Promise<void>;
  stop(): Promise<void>;
}

/** Pings `ip` from `host` every `intervalS` seconds until stopped. */
export function startPinger(host: Host, ip: string, intervalS = 0.1): Pinger {
  const child = spawn('ip', ['netns', 'exec', host.ns, 'ping', '-n', '-D', '-i', String(intervalS), ip]);
  const replies: Reply[] = [];
  const waiters: (() => void)[] = [];
  let partial = '';
  child.stdout.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/.exec(line);
      if (m) replies.push({ seq: Number(m[2]), at: Number(m[1]) * 1000 });
    }
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    replies,
    until(enough, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${replies.length} replies)`)), timeoutMs);
        const check = () => {
          if (enough(replies)) {
            clearTimeout(deadline);
            resolve();
          } else waiters.push(check);
        };
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      await exited;
    },
  };
}

/** The longest wait between two replies, the later of them after `since` (ms, wall clock). */
export function longestGap(replies: Reply[], since: number): number {
  let longest = 0;
  for (let i = 1; i < replies.length; i++) {
    if (replies[i]!.at > since) longest = Math.max(longest, replies[i]!.at - replies[i - 1]!.at);
  }
  return longest;
}
