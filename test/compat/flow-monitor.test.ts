// Differential test of flow monitoring: `ovs-ofctl monitor SW watch:` and `tvs-ofctl monitor SW
// watch:` watch a switch on every version's flow monitor (Nicira's NXST_FLOW_MONITOR with no -O,
// ONF's on OpenFlow 1.3, OFPMP_FLOW_MONITOR on 1.4 and 1.5) while ovs-ofctl changes its flows,
// against Debian's ovs-vswitchd and against tvs-vswitchd: every transcript is the one OVS gives.
// (ovs-ofctl's stdout is block-buffered on a pipe, so it runs under `stdbuf -oL`; it prints the
// initial reply on stdout and the updates on stderr, read here as one stream.)
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { COMPARED_SWITCHES, TVS_OFCTL, startMonitor } from '../helpers/differential.js';
import { ovsReferenceAvailable } from '../helpers/ovs-reference.js';



/** The monitors' versions: none (ovs-ofctl offers only OpenFlow 1.0 then), 1.3, 1.4 and 1.5. */
const VERSIONS: Array<{ name: string; args: string[] }> = [
  { name: 'OpenFlow10', args: [] },
  { name: 'OpenFlow13', args: ['-O', 'OpenFlow13'] },
  { name: 'OpenFlow14', args: ['-O', 'OpenFlow14'] },
  { name: 'OpenFlow15', args: ['-O', 'OpenFlow15'] },
];

const WATCHERS: Record<string, (target: string, versionArgs: string[]) => [string, string[]]> = {
  'ovs-ofctl': (target, versionArgs) => ['stdbuf', ['-oL', 'ovs-ofctl', ...versionArgs, 'monitor', target, 'watch:']],
  'tvs-ofctl': (target, versionArgs) => [process.execPath, [TVS_OFCTL, ...versionArgs, 'monitor', target, 'watch:']],
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


/** What OVS sends each version for CHANGES, as ovs-ofctl prints it. */
function expectedTranscript(version: string): string {
  const [title, initial] =
    version === 'OpenFlow10'
      ? ['NXST_FLOW_MONITOR reply (xid=X):', 'ADDED']
      : version === 'OpenFlow13'
        ? ['ONFST_FLOW_MONITOR reply (OF1.3) (xid=X):', 'ADDED']
        : [`OFPST_FLOW_MONITOR reply (OF1.${version.slice(-1)}) (xid=X):`, 'INITIAL'];
  const updates = [
    ` event=${initial} table=0 cookie=0 actions=NORMAL`,
    ' event=ADDED table=0 cookie=0 in_port=1 actions=output:2',
    ' event=ADDED table=0 idle_timeout=60 cookie=0x7 in_port=2 actions=output:1',
    // An OpenFlow 1.0 flow_mod's cookie is the new cookie of the rules it modifies.
    ' event=MODIFIED table=0 idle_timeout=60 cookie=0 in_port=2 actions=LOCAL',
    ' event=DELETED reason=delete table=0 cookie=0 in_port=1 actions=output:2',
    ' event=ADDED table=0 cookie=0 in_port=1',
    ' event=ADDED table=0 cookie=0 arp',
  ];
  return updates.map((u) => `${title}\n${u}\n`).join('');
}

function normalise(text: string): string {
  return text.replace(/xid=0x[0-9a-f]+/g, 'xid=X');
}

for (const [switchName, startSwitch] of Object.entries(COMPARED_SWITCHES)) {
  describe.skipIf(!ovsReferenceAvailable())(`flow monitors against ${switchName}`, () => {
    /** Transcripts by watcher and version. */
    const transcripts = new Map<string, string>();
    let rundir = '';

    beforeAll(async () => {
      rundir = mkdtempSync(join(tmpdir(), 'tvs-t-monitor-'));
      const sw = await startSwitch();
      const monitors = Object.entries(WATCHERS).flatMap(([watcher, command]) =>
        VERSIONS.map((v) => {
          const [cmd, args] = command(sw.target, v.args);
          return { key: `${watcher} ${v.name}`, ...startMonitor(cmd, args, rundir) };
        }),
      );
      try {
        for (const m of monitors) await eventually(() => m.out().includes('FLOW_MONITOR reply'), 20_000, `${m.key} to print its initial reply`);
        for (const step of CHANGES) await ovsOfctl(step.map((a) => (a === 'SW' ? sw.target : a)), rundir);
        for (const m of monitors) await eventually(() => m.out().includes('arp'), 20_000, `${m.key} to print the last change`);
        for (const m of monitors) transcripts.set(m.key, normalise(m.out()));
      } finally {
        for (const m of monitors) m.child.kill();
        await sw.stop();
      }
    }, 120_000);

    afterAll(() => {
      if (rundir) rmSync(rundir, { recursive: true, force: true });
    });

    for (const watcher of Object.keys(WATCHERS)) {
      for (const { name } of VERSIONS) {
        it(`${watcher} monitor on ${name} prints the initial rules, then each add, modify and delete, as ovs-vswitchd sends them`, () => {
          expect(transcripts.get(`${watcher} ${name}`)).toBe(expectedTranscript(name));
        });
      }
    }
  });
}
