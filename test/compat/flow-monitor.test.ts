// Differential test of flow monitoring: `tvs-ofctl monitor SW watch:` watches a switch while
// ovs-ofctl changes its flows, against Debian's ovs-vswitchd and against tvs-vswitchd: the
// transcript is the same from both. (`ovs-ofctl monitor` is not the watcher here: its stdout is
// block-buffered on a pipe, so it shows nothing until it exits, and a killed one loses it.)
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from '../helpers/daemon.js';
import { eventually } from '../helpers/eventually.js';
import { ovsReferenceAvailable, startOvsReference } from '../helpers/ovs-reference.js';

const TVS_OFCTL = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'cli', 'tvs-ofctl.js');

interface Switch {
  target: string;
  stop(): Promise<void>;
}

const SWITCHES: Record<string, () => Promise<Switch>> = {
  'ovs-vswitchd': () => startOvsReference({ bridge: 'br0', ports: ['p1', 'p2'] }),
  'tvs-vswitchd': async () => {
    const tvs = await startDaemon(['--enable-dummy=override']);
    await tvs.vsctl('add-br', 'br0', '--', 'add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'ofport_request=1', '--', 'add-port', 'br0', 'p2', '--', 'set', 'interface', 'p2', 'ofport_request=2');
    return { target: `unix:${join(tvs.dir, 'br0.mgmt')}`, stop: () => tvs.stop() };
  },
};

/** The flow changes the monitors watch; the last one's rule (arp) tells that every update has arrived. */
const CHANGES: string[][] = [
  ['add-flow', 'SW', 'priority=5,in_port=1,actions=output:2'],
  ['add-flow', 'SW', 'cookie=0x7,idle_timeout=60,priority=6,in_port=2,actions=output:1'],
  ['mod-flows', 'SW', 'in_port=2,actions=output:LOCAL'],
  ['mod-flows', 'SW', 'in_port=2,actions=output:LOCAL'],
  ['--strict', 'del-flows', 'SW', 'priority=5,in_port=1'],
  ['add-flow', 'SW', 'priority=9,in_port=1,actions=drop'],
  ['add-flow', 'SW', 'priority=77,arp,actions=drop'],
];

function ovsOfctl(args: string[], rundir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ovs-ofctl', args, { env: { ...process.env, OVS_RUNDIR: rundir }, timeout: 30_000 }, (err) => (err ? reject(new Error(`ovs-ofctl ${args.join(' ')}: ${err.message}`)) : resolve()));
  });
}

/** A monitor running in the background, its output kept. */
function startMonitor(command: string, args: string[], rundir: string): { child: ChildProcess; out: () => string } {
  const child = spawn(command, args, { env: { ...process.env, OVS_RUNDIR: rundir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  return { child, out: () => out };
}

function normalise(text: string): string {
  return text.replace(/xid=0x[0-9a-f]+/g, 'xid=X');
}

for (const [switchName, startSwitch] of Object.entries(SWITCHES)) {
  describe.skipIf(!ovsReferenceAvailable())(`flow monitors against ${switchName}`, () => {
    let transcript = '';
    let rundir = '';

    beforeAll(async () => {
      rundir = mkdtempSync(join(tmpdir(), 'tvs-t-monitor-'));
      const sw = await startSwitch();
      const monitor = startMonitor(process.execPath, [TVS_OFCTL, 'monitor', sw.target, 'watch:'], rundir);
      try {
        await eventually(() => monitor.out().includes('NXST_FLOW_MONITOR reply'), 20_000, 'the monitor to print its initial reply');
        for (const step of CHANGES) await ovsOfctl(step.map((a) => (a === 'SW' ? sw.target : a)), rundir);
        await eventually(() => monitor.out().includes('arp'), 20_000, 'the monitor to print the last change');
        transcript = normalise(monitor.out());
      } finally {
        monitor.child.kill();
        await sw.stop();
      }
    }, 120_000);

    afterAll(() => {
      if (rundir) rmSync(rundir, { recursive: true, force: true });
    });

    it('prints the initial rules, then each add, modify and delete, as ovs-vswitchd sends them', () => {
      expect(transcript).toBe(
        [
          'NXST_FLOW_MONITOR reply (xid=X):',
          ' event=ADDED table=0 cookie=0 actions=NORMAL',
          'NXST_FLOW_MONITOR reply (xid=X):',
          ' event=ADDED table=0 cookie=0 in_port=1 actions=output:2',
          'NXST_FLOW_MONITOR reply (xid=X):',
          ' event=ADDED table=0 idle_timeout=60 cookie=0x7 in_port=2 actions=output:1',
          'NXST_FLOW_MONITOR reply (xid=X):',
          // An OpenFlow 1.0 flow_mod's cookie is the new cookie of the rules it modifies.
          ' event=MODIFIED table=0 idle_timeout=60 cookie=0 in_port=2 actions=LOCAL',
          'NXST_FLOW_MONITOR reply (xid=X):',
          ' event=DELETED reason=delete table=0 cookie=0 in_port=1 actions=output:2',
          'NXST_FLOW_MONITOR reply (xid=X):',
          ' event=ADDED table=0 cookie=0 in_port=1',
          'NXST_FLOW_MONITOR reply (xid=X):',
          ' event=ADDED table=0 cookie=0 arp',
          '',
        ].join('\n'),
      );
    });
  });
}
