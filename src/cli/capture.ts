// `tvs capture PORT`: a port's frames from the running tvs-vswitchd, as
// pcapng with a comment per frame saying what the switch did with it.
//
// The frames come over a side socket, not the unixctl reply: this command
// listens on a unix socket of its own, asks the daemon (capture/start PORT
// unix:SOCKET ...) to stream the capture there, and copies the stream to the
// file or to stdout (`-w -`, for `| tcpdump -r -` or `| wireshark -k -i -`).
// The capture ends after -c COUNT frames, on Ctrl-C, or when the reader of
// stdout goes away; the daemon stops capturing as soon as the socket closes.
import { mkdtempSync, openSync, rmSync, closeSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveTarget, unixctlCall } from '../lib/unixctl.js';

export const CAPTURE_USAGE = `  capture PORT [-w FILE|-] [-i in|out|both] [-c COUNT] [--snaplen N]
          [-t TARGET] [FILTER...]
                       record the frames datapath port PORT receives (in),
                       sends (out) or both, as pcapng to FILE or stdout (-),
                       each with a comment saying what the switch did with it
                       (flow, OpenFlow rules, output ports or drop reason);
                       FILTER is a tcpdump expression (icmp, arp, port 53);
                       -t names the daemon's control socket (tvs-vswitchd)`;

/** Runs `tvs capture ARGS`; resolves with the exit status. */
export async function capture(argv: string[]): Promise<number> {
  let output = '-';
  let target = 'tvs-vswitchd';
  const forward: string[] = [];
  let port: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`tvs capture: ${a} needs a value`);
      return v;
    };
    if (a === '-w') output = value();
    else if (a === '-t' || a === '--target') target = value();
    else if (['-i', '--direction', '-Q', '-c', '--count', '-s', '--snaplen'].includes(a)) forward.push(a, value());
    else if (port === undefined && !a.startsWith('-')) port = a;
    else if (a.startsWith('-')) throw new Error(`tvs capture: unknown option "${a}"\nusage:\n${CAPTURE_USAGE}`);
    else forward.push(a);
  }
  if (port === undefined) throw new Error(`tvs capture: which port? (tvs-dpctl show lists them)\nusage:\n${CAPTURE_USAGE}`);
  if (output === '-' && process.stdout.isTTY) {
    throw new Error('tvs capture: pcapng is binary: give -w FILE, or pipe stdout on (tvs capture PORT -w - | tcpdump -r -)');
  }
  let fd: number;
  try {
    fd = output === '-' ? 1 : openSync(output, 'w');
  } catch (e) {
    throw new Error(`tvs capture: cannot write ${output}: ${(e as Error).message}`, { cause: e });
  }

  const dir = mkdtempSync(join(tmpdir(), 'tvs-capture-'));
  const socketPath = join(dir, 'stream.sock');
  const ctl = resolveTarget(target);
  let stream: Socket | undefined;
  const done = new Promise<void>((resolve) => {
    const server = createServer((sock) => {
      stream = sock;
      server.close();
      sock.on('data', (b: Buffer) => {
        try {
          writeSync(fd, b);
        } catch {
          // The reader of stdout went away (EPIPE): closing the socket ends the capture in the daemon.
          sock.destroy();
        }
      });
      sock.on('close', () => resolve());
      sock.on('error', () => sock.destroy());
    });
    server.listen(socketPath);
  });
  const interrupted = () => void unixctlCall(ctl, 'capture/stop', [port]).catch(() => stream?.destroy());
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  try {
    const reply = await unixctlCall(ctl, 'capture/start', [port, `unix:${socketPath}`, ...forward]);
    if (!reply.ok) {
      process.stderr.write(`tvs capture: ${reply.output.trimEnd()}\n`);
      return 1;
    }
    process.stderr.write(`${reply.output.trimEnd()}\n`);
    await done;
    return 0;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    if (fd !== 1) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}
