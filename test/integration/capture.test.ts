// Port capture on real traffic (issue 15): two namespace hosts ping each
// other through tvs-vswitchd while a port is captured with tvs-appctl
// capture/start or `tvs capture`; the pcapng files are read back with
// tcpdump and tshark, and each frame's comment must name what the switch
// did with it. One daemon and one pair of hosts serve every case.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, ping, run, type Host } from '../../src/lib/netns.js';
import { Switch } from '../../src/api/switch.js';
import type { DummyHost } from '../../src/api/dummy-host.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { eventually } from '../helpers/eventually.js';
import { sendFrames, udpFrame } from '../helpers/frames.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'cli');

let lab: Lab;
let sw: TestDaemon;
let br: string;
let a: Host;
let b: Host;
let portA: string;
let portB: string;
let files: string;

/** tvs-ofctl against the daemon's bridge. */
const ofctl = (...args: string[]) => run('env', [`TVS_RUNDIR=${sw.dir}`, process.execPath, join(CLI, 'tvs-ofctl.js'), ...args]);

/** Each frame of a capture file as tshark reads it: direction (from epb_flags), interface name and comment. */
async function readCapture(file: string): Promise<{ direction: string; iface: string; comment: string }[]> {
  const out = await run('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.packet_flags_direction', '-e', 'frame.interface_name', '-e', 'frame.comment']);
  return out
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [direction = '', iface = '', ...comment] = l.split('|');
      return { direction: Number(direction) === 1 ? 'in' : Number(direction) === 2 ? 'out' : direction, iface, comment: comment.join('|') };
    });
}

const tcpdumpLines = async (file: string) => (await run('tcpdump', ['-r', file, '-nn'])).trim().split('\n').filter((l) => l !== '');

/** Waits until capture/show reports `n` frames captured on `port`. */
const captured = (port: string, n: number) =>
  eventually(
    async () => (await sw.appctl('capture/show')).split('\n').some((l) => l.startsWith(`${port}: `) && /captured=(\d+)/.exec(l)?.[1] === String(n)),
    10_000,
    `${n} frames captured on ${port}`,
  );

beforeAll(async () => {
  lab = new Lab();
  br = lab.ifname('br');
  sw = await startDaemon();
  files = mkdtempSync(join(tmpdir(), 'tvs-t-capture-'));
  const ha = await lab.addVethHost('a', '10.72.0.1/24');
  const hb = await lab.addVethHost('b', '10.72.0.2/24');
  [a, b, portA, portB] = [ha.host, hb.host, ha.switchIf, hb.switchIf];
  await sw.vsctl('add-br', br, '--', 'add-port', br, portA, '--', 'set', 'interface', portA, 'ofport_request=1', '--', 'add-port', br, portB, '--', 'set', 'interface', portB, 'ofport_request=2');
  await ofctl('add-flow', br, 'cookie=0x5,priority=100,icmp,in_port=1,actions=output:2');
  await ofctl('add-flow', br, 'cookie=0x6,priority=100,icmp,in_port=2,actions=output:1');
  // ARP resolved and the ICMP megaflows installed: the captures below see flow hits.
  expect(await ping(a, b.ip, 1)).toBe(1);
});

afterAll(async () => {
  await sw?.stop();
  await lab?.cleanup();
  if (files) rmSync(files, { recursive: true, force: true });
});

describe('tvs-appctl capture', () => {
  it('records a ping on a port in both directions, each frame once, with the rule, flow and output port in its comment', async () => {
    const file = join(files, 'both.pcapng');
    expect(await sw.appctl('capture/start', portA, file, '-i', 'both', 'icmp')).toContain(`capturing ${portA}`);
    expect(await ping(a, b.ip, 3)).toBe(3);
    await captured(portA, 6);
    expect(await sw.appctl('capture/stop', portA)).toContain('stopped');

    expect(await tcpdumpLines(file)).toHaveLength(6);
    const frames = await readCapture(file);
    expect(frames.map((f) => f.direction)).toEqual(['in', 'out', 'in', 'out', 'in', 'out']);
    expect(new Set(frames.map((f) => f.iface))).toEqual(new Set([portA]));
    for (const f of frames.filter((x) => x.direction === 'in')) {
      expect(f.comment).toMatch(new RegExp(`^in: ${portA} \\(dp port \\d+\\); dp flow ufid:[0-9a-f-]+: .*in_port\\(`));
      expect(f.comment).toContain('cookie=0x5, priority=100,icmp,in_port=1 actions=output:2');
      expect(f.comment).toMatch(new RegExp(`; out: ${portB}$`));
    }
    for (const f of frames.filter((x) => x.direction === 'out')) {
      expect(f.comment).toMatch(new RegExp(`^out: ${portA} \\(dp port \\d+\\); from: ${portB} \\(dp port \\d+\\)`));
      expect(f.comment).toContain('cookie=0x6');
    }
  });

  it('names a dropping flow and its rule in the comment of a frame it drops', async () => {
    await ofctl('add-flow', br, 'cookie=0x7,priority=200,udp,in_port=1,actions=drop');
    const file = join(files, 'drop.pcapng');
    await sw.appctl('capture/start', portA, file, '-i', 'in', 'udp');
    const frame = udpFrame({ dst: b.mac, src: a.mac, ipSrc: a.ip, ipDst: b.ip, payload: Buffer.alloc(18) });
    // The first frame misses and goes to the slow path; once its flow is in, the next one hits it.
    await sendFrames(a, frame);
    await captured(portA, 1);
    await eventually(async () => (await sw.dpctl('dump-flows')).includes('actions:drop'), 5000, 'the drop flow installed');
    await sendFrames(a, frame);
    await captured(portA, 2);
    await sw.appctl('capture/stop', portA);
    const [first, second] = await readCapture(file);
    expect(first!.comment).toContain('dp flow: miss, sent to the slow path');
    expect(second!.comment).toContain('cookie=0x7, priority=200,udp,in_port=1 actions=drop');
    expect(second!.comment).toMatch(/actions:drop; .*drop: flow-drop/);
    await ofctl('del-flows', br, 'udp,in_port=1');
  });

  it('keeps only what the filter takes: an arp capture sees the ARP of a ping and none of its ICMP', async () => {
    const file = join(files, 'arp.pcapng');
    await sw.appctl('capture/start', portA, file, '-i', 'in', '-c', '1', 'arp');
    await a.exec('ip', ['neigh', 'flush', 'all']);
    expect(await ping(a, b.ip, 2)).toBe(2);
    // -c 1 ends the capture by itself after the ARP request.
    await eventually(async () => (await sw.appctl('capture/show')) === 'no captures\n', 10_000, 'the capture ended at its count');
    const lines = await tcpdumpLines(file);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ARP, Request who-has 10\.72\.0\.2/);
  });

  it('stops recording when the capture is stopped', async () => {
    const file = join(files, 'stop.pcapng');
    await sw.appctl('capture/start', portA, file, 'icmp');
    expect(await ping(a, b.ip, 1)).toBe(1);
    await captured(portA, 2);
    await sw.appctl('capture/stop');
    expect(await sw.appctl('capture/show')).toBe('no captures\n');
    expect(await ping(a, b.ip, 2)).toBe(2);
    expect(await tcpdumpLines(file)).toHaveLength(2);
  });

  it('refuses an unknown port, a capture file it cannot write and a bad filter, each in words that name the fix', async () => {
    const noPort = await sw.appctlExit('capture/start', 'nosuch0', join(files, 'x.pcapng'));
    expect(noPort.stderr).toContain('no port "nosuch0" in the datapath to capture');
    const noFile = await sw.appctlExit('capture/start', portA, '/nonexistent-dir/x.pcapng');
    expect(noFile.stderr).toContain('cannot write the capture file /nonexistent-dir/x.pcapng');
    const badFilter = await sw.appctlExit('capture/start', portA, join(files, 'y.pcapng'), 'icmpx');
    expect(badFilter.stderr).toMatch(/bad capture filter expression "icmpx": tcpdump: .*syntax error/);
    expect(await sw.appctl('capture/show')).toBe('no captures\n');
  });
});

describe('tvs capture', () => {
  it('streams pcapng to stdout that tcpdump -r - reads, and ends after -c frames', async () => {
    const tvs = join(CLI, 'tvs.js');
    const ctl = join(sw.dir, 'tvs-vswitchd.ctl');
    const pipeline = new Promise<string>((resolve, reject) => {
      execFile('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${tvs}" capture ${portA} -t ${ctl} -w - -c 2 -i in icmp | tcpdump -r - -nn`], { timeout: 30_000 }, (e, stdout, stderr) =>
        e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    await eventually(async () => (await sw.appctl('capture/show')).includes(portA), 10_000, 'tvs capture started');
    expect(await ping(a, b.ip, 2)).toBe(2);
    const lines = (await pipeline).trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatch(/10\.72\.0\.1 > 10\.72\.0\.2: ICMP echo request/);
    expect(await sw.appctl('capture/show')).toBe('no captures\n');
  });

  it('says why it cannot capture a port that is not there', async () => {
    const res = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(CLI, 'tvs.js'), 'capture', 'nosuch0', '-t', join(sw.dir, 'tvs-vswitchd.ctl'), '-w', join(files, 'z.pcapng')], (e, _out, stderr) =>
        resolve({ code: e ? (e.code as number) : 0, stderr }),
      );
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no port "nosuch0" in the datapath');
  });
});

describe('Switch.capture', () => {
  let dsw: Switch<DummyHost>;
  let d1: DummyHost;

  beforeAll(async () => {
    dsw = await Switch.start({ dummy: true });
    await dsw.addBridge('br0');
    d1 = await dsw.addHost('br0', 'd1', { ip: '10.0.0.1/24' });
    await dsw.addHost('br0', 'd2', { ip: '10.0.0.2/24' });
    expect(await d1.ping('10.0.0.2')).toBe(1);
  });

  afterAll(async () => {
    await dsw?.stop();
  });

  it('iterates over the captured frames with their verdicts until closed', async () => {
    const cap = await dsw.capture('d1', { direction: 'both', filter: 'icmp' });
    expect(await d1.ping('10.0.0.2')).toBe(1);
    const seen: { direction: string; verdict: string; ipProto: number | undefined }[] = [];
    for await (const p of cap) {
      seen.push({ direction: p.direction, verdict: p.verdict, ipProto: p.frame.readUInt16BE(12) === 0x0800 ? p.frame[23] : undefined });
      expect(p.port).toBe('d1');
      expect(p.time.getTime()).toBeGreaterThan(Date.now() - 60_000);
      if (seen.length === 2) cap.close();
    }
    expect(seen.map((s) => s.direction)).toEqual(['in', 'out']);
    expect(seen[0]!.verdict).toMatch(/^in: d1 \(dp port \d+\); .*actions=NORMAL.*; out: d2$/);
    expect(seen[1]!.verdict).toMatch(/^out: d1 \(dp port \d+\); from: d2/);
    expect(seen.map((s) => s.ipProto)).toEqual([1, 1]);
    await expect(dsw.capture('nosuch0')).rejects.toThrow('no port "nosuch0" in the datapath');
  });
});
