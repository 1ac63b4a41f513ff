// Differential test: a script of everyday ovs-ofctl commands, errors included, run by both
// clients (Debian's ovs-ofctl and tvs-ofctl) against both switches (Debian's ovs-vswitchd and
// tvs-vswitchd, each with bridge br0 and dummy ports p1, p2). On each switch, each client runs the
// whole script against a fresh switch, and every command must print the same thing and exit with
// the same status. What the clients cannot agree on is normalised away: how long a rule or
// port has existed, and xids (ovs-ofctl counts them across its connections, hellos included).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from '../helpers/daemon.js';
import { maskToolName, transcript, type TranscriptEntry } from '../helpers/differential.js';
import { ovsReferenceAvailable, startOvsReference } from '../helpers/ovs-reference.js';
import { runForExit, type CliExit } from '../helpers/run-exit.js';
import { tvsTableCapabilities } from '../../src/openflow/codec/table-features.js';
import { OFP15 } from '../../src/openflow/messages.js';

const TVS_OFCTL = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'cli', 'tvs-ofctl.js');

interface Switch {
  target: string;
  stop(): Promise<void>;
}

/** Both switches with the same fixed addresses, so a fresh one shows what the last one showed. */
const SWITCHES: Record<string, () => Promise<Switch>> = {
  'ovs-vswitchd': async () => {
    const ovs = await startOvsReference({ bridge: 'br0', ports: ['p1', 'p2'] });
    await ovs.vsctl('set', 'bridge', 'br0', 'other-config:datapath-id=00000000000000a1', 'other-config:hwaddr=02:00:00:00:00:a1');
    return ovs;
  },
  'tvs-vswitchd': async () => {
    const tvs = await startDaemon(['--enable-dummy=override']);
    await tvs.vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'other-config:datapath-id=00000000000000a1',
      '--', 'add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'ofport_request=1',
      '--', 'add-port', 'br0', 'p2', '--', 'set', 'interface', 'p2', 'ofport_request=2');
    return { target: `unix:${join(tvs.dir, 'br0.mgmt')}`, stop: () => tvs.stop() };
  },
};

const CLIENTS: Record<string, (args: string[]) => Promise<CliExit>> = {
  'ovs-ofctl': (args) => runForExit('ovs-ofctl', args),
  'tvs-ofctl': (args) => runForExit(process.execPath, [TVS_OFCTL, ...args]),
};

const FLOWS = ['priority=100,ip,nw_dst=10.0.0.1,actions=output:2', 'table=1,reg0=5,actions=drop', 'priority=5,in_port=2,dl_src=00:00:00:00:00:02,actions=output:1'];
// ovs-ofctl 3.1 cannot replace-flows into a table other than 0 without -O (it finds no flow
// format for the table id), so the replacement stays in table 0.
const REPLACEMENT = ['priority=100,ip,nw_dst=10.0.0.1,actions=output:1', 'priority=9,tcp,tp_dst=80,actions=NORMAL'];
// A bundle whose second flow overlaps the rule added before it: the commit fails and the first
// flow must not be added either.
const BUNDLE_BAD = ['priority=4,in_port=2,actions=output:1', 'check_overlap,priority=3,in_port=1,actions=drop'];

/** The script; SW is the switch's target, FLOWS, REPLACEMENT and BUNDLE_BAD files of flows. */
const SCRIPT: string[][] = [
  ['show', 'SW'],
  ['-O', 'OpenFlow13', 'show', 'SW'],
  ['add-flow', 'SW', FLOWS[0]!],
  ['add-flow', 'SW', FLOWS[1]!],
  ['add-flows', 'SW', 'FLOWS'],
  ['dump-flows', 'SW'],
  ['dump-flows', 'SW', '--no-stats'],
  ['dump-flows', 'SW', 'table=1'],
  ['dump-flows', 'SW', '--sort'],
  ['dump-flows', 'SW', '--rsort=priority'],
  ['-O', 'OpenFlow13', 'dump-flows', 'SW'],
  ['-O', 'OpenFlow15', 'dump-flows', 'SW'],
  ['dump-aggregate', 'SW'],
  ['-O', 'OpenFlow13', 'dump-aggregate', 'SW'],
  ['mod-flows', 'SW', 'in_port=2,actions=output:LOCAL'],
  ['--strict', 'del-flows', 'SW', 'priority=100,ip,nw_dst=10.0.0.1'],
  ['dump-flows', 'SW', '--no-stats'],
  ['diff-flows', 'SW', 'REPLACEMENT'],
  ['replace-flows', 'SW', 'REPLACEMENT'],
  ['dump-flows', 'SW', '--no-stats'],
  ['add-flow', 'SW', 'actions=group:77'],
  ['-O', 'OpenFlow13', 'add-group', 'SW', 'group_id=1,type=all,bucket=output:1,bucket=output:2'],
  ['-O', 'OpenFlow13', 'add-group', 'SW', 'group_id=1,type=all,bucket=output:1'],
  ['-O', 'OpenFlow13', 'dump-groups', 'SW'],
  ['-O', 'OpenFlow15', 'dump-groups', 'SW'],
  ['-O', 'OpenFlow13', 'dump-group-stats', 'SW'],
  ['-O', 'OpenFlow13', 'del-groups', 'SW'],
  ['-O', 'OpenFlow13', 'dump-groups', 'SW'],
  ['-O', 'OpenFlow13', 'add-meter', 'SW', 'meter=1,pktps,burst,stats,bands=type=drop,rate=100,burst_size=10'],
  ['-O', 'OpenFlow13', 'add-meter', 'SW', 'meter=1,pktps,bands=type=drop,rate=5'],
  ['-O', 'OpenFlow13', 'add-flow', 'SW', 'priority=7,in_port=1,actions=meter:1,output:2'],
  ['-O', 'OpenFlow13', 'dump-meters', 'SW'],
  ['-O', 'OpenFlow13', 'meter-stats', 'SW', 'meter=1'],
  ['-O', 'OpenFlow13', 'del-meters', 'SW'],
  ['-O', 'OpenFlow13', 'dump-meters', 'SW'],
  ['dump-ports', 'SW'],
  ['dump-ports', 'SW', 'p2'],
  ['-O', 'OpenFlow13', 'dump-ports', 'SW', '1'],
  ['dump-ports-desc', 'SW'],
  ['-O', 'OpenFlow15', 'dump-ports-desc', 'SW'],
  ['mod-port', 'SW', 'p1', 'down'],
  ['mod-port', 'SW', 'p1', 'no-flood'],
  ['dump-ports-desc', 'SW'],
  ['mod-port', 'SW', 'p9', 'up'],
  ['mod-port', 'SW', 'p1', 'sideways'],
  ['dump-tables', 'SW'],
  ['-O', 'OpenFlow13', 'dump-tables', 'SW'],
  ['-O', 'OpenFlow13', 'dump-table-features', 'SW'],
  ['dump-table-features', 'SW'],
  ['-O', 'OpenFlow14', 'dump-table-desc', 'SW'],
  ['dump-table-desc', 'SW'],
  ['-O', 'OpenFlow13', 'dump-group-features', 'SW'],
  ['queue-stats', 'SW'],
  ['queue-get-config', 'SW'],
  ['queue-get-config', 'SW', '9'],
  ['-O', 'OpenFlow13', 'queue-get-config', 'SW', 'LOCAL'],
  ['-O', 'OpenFlow14', 'queue-get-config', 'SW'],
  ['-O', 'OpenFlow14', 'queue-get-config', 'SW', '1', '3'],
  ['probe', 'SW'],
  // OVN's flow-only ND responder: nd_reserved and nd_options_type matched and set.
  ['-O', 'OpenFlow13', 'add-flow', 'SW', 'table=2,icmp6,icmp_type=135,nd_reserved=0,nd_options_type=1,actions=set_field:136->icmpv6_type,set_field:0xe0000000->nd_reserved,set_field:2->nd_options_type,resubmit(,3)'],
  ['add-flow', 'SW', 'table=3,icmp6,icmp_type=136,nd_options_type=2,actions=load:0x40000000->ERICOXM_OF_ICMPV6_ND_RESERVED[],move:NXM_OF_ETH_SRC[0..7]->ERICOXM_OF_ICMPV6_ND_OPTIONS_TYPE[],IN_PORT'],
  ['-O', 'OpenFlow13', 'dump-flows', 'SW', '--no-stats', 'table=2'],
  ['dump-flows', 'SW', '--no-stats', 'icmp6,icmp_type=136,nd_options_type=2'],
  ['-O', 'OpenFlow15', 'dump-flows', 'SW', '--no-stats', 'table=3'],
  ['del-flows', 'SW'],
  ['dump-flows', 'SW', '--no-stats'],
  ['add-flow', 'SW', 'priority=3,in_port=1,actions=output:2'],
  ['--bundle', 'add-flows', 'SW', 'BUNDLE_BAD'],
  ['dump-flows', 'SW', '--no-stats'],
  ['--bundle', 'add-flows', 'SW', 'FLOWS'],
  ['-O', 'OpenFlow13', '--bundle', 'add-flow', 'SW', 'priority=9,actions=drop'],
  ['--bundle', 'replace-flows', 'SW', 'REPLACEMENT'],
  ['dump-flows', 'SW', '--no-stats'],
  ['--bundle', 'add-group', 'SW', 'group_id=5,type=all,bucket=output:1'],
  ['-O', 'OpenFlow13', 'dump-groups', 'SW'],
  ['--bundle', 'del-groups', 'SW'],
  ['-O', 'OpenFlow13', 'dump-groups', 'SW'],
  ['show', 'nosuch-bridge'],
  ['-O', 'OpenFlow99', 'show', 'SW'],
  ['show'],
  ['frobnicate', 'SW'],
];

/**
 * What may differ between two runs of the same script on two fresh switches, and between the
 * clients' names. ovs-vswitchd numbers its dummy ports' addresses (aa:55:aa:55:00:NN) from a
 * counter that other netdevs advance too, so a fresh one need not give p1 the same address.
 */
function normalise(text: string, target: string): string {
  return maskToolName(text.replaceAll(target, 'SW'), 'ofctl', 'OFCTL')
    .replace(/xid=0x[0-9a-f]+/g, 'xid=X')
    // A refused request echoed in hex: its header's xid (bytes 4-7) and their characters.
    .replace(/^(00000000 {2}(?:[0-9a-f]{2} ){4})[0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}(.{25}\|.{4}).{4}/gm, '$1XX XX XX XX$2XXXX')
    .replace(/duration[=:][0-9.]+s/g, 'duration=D')
    .replace(/(idle|hard)_age=\d+/g, '$1_age=A')
    .replace(/addr:aa:55:aa:55:00:[0-9a-f]{2}/g, 'addr:aa:55:aa:55:00:NN');
}

/** `tun_{id,ipv6_{src,dst}}` and `reg0...reg2` as the names they abbreviate (the reverse of OVS's print_names). */
function expandFieldNames(item: string): string[] {
  const brace = item.indexOf('{');
  if (brace >= 0) {
    const inner = item.slice(brace + 1, -1);
    const parts: string[] = [];
    let depth = 0;
    let start = 0;
    for (let i = 0; i <= inner.length; i++) {
      if (i === inner.length || (inner[i] === ',' && depth === 0)) {
        parts.push(inner.slice(start, i));
        start = i + 1;
      } else if (inner[i] === '{') depth++;
      else if (inner[i] === '}') depth--;
    }
    return parts.flatMap((p) => expandFieldNames(p).map((n) => item.slice(0, brace) + n));
  }
  const range = /^(.*?)(\d+)\.\.\.\1(\d+)$/.exec(item);
  if (!range) return [item];
  return Array.from({ length: Number(range[3]) - Number(range[2]) + 1 }, (_, i) => `${range[1]!}${Number(range[2]) + i}`);
}

/**
 * The fields TVS can name (those its switch matches on). ovs-vswitchd's table features also list
 * fields TVS does not have (conntrack, MPLS, NSH, tun_metadata, dp_hash, ...): tvs-ofctl skips
 * headers it cannot name, as ovs-ofctl skips unknown ones. That is the one true difference, so
 * against ovs-vswitchd the field lists are compared over the fields TVS knows; everything else
 * (actions, instructions, next tables, folding) must match as printed.
 */
const TVS_FIELDS = new Set(tvsTableCapabilities(0, 2, OFP15).match);
function fieldsTvsKnows(text: string): string {
  return text.replace(/^( +(?:arbitrary mask|exact match or wildcard|must exact match|supported on Set-Field):)(.*)$/gm, (_, head: string, list: string) =>
    `${head} ${list.trim().split(' ').flatMap((item) => expandFieldNames(item)).filter((n) => TVS_FIELDS.has(n)).join(' ')}`);
}

for (const [switchName, startSwitch] of Object.entries(SWITCHES)) {
  describe.skipIf(!ovsReferenceAvailable())(`ovs-ofctl and tvs-ofctl against ${switchName}`, () => {
    let dir = '';
    const transcripts: Record<string, TranscriptEntry[]> = {};

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tvs-t-ofctl-'));
      writeFileSync(join(dir, 'flows'), `${FLOWS.slice(2).join('\n')}\n# a comment, and a blank line\n\n`);
      writeFileSync(join(dir, 'replacement'), `${REPLACEMENT.join('\n')}\n`);
      writeFileSync(join(dir, 'bundle-bad'), `${BUNDLE_BAD.join('\n')}\n`);
      for (const [clientName, client] of Object.entries(CLIENTS)) {
        const sw = await startSwitch();
        try {
          const placeholders = new Map([['SW', sw.target], ['FLOWS', join(dir, 'flows')], ['REPLACEMENT', join(dir, 'replacement')], ['BUNDLE_BAD', join(dir, 'bundle-bad')]]);
          const runStep = (step: string[]) => client(step.map((a) => placeholders.get(a) ?? a));
          const onOvs = switchName === 'ovs-vswitchd' ? fieldsTvsKnows : (text: string) => text;
          transcripts[clientName] = await transcript(SCRIPT, runStep, (r) => `[exit ${r.code}]\n${onOvs(normalise(r.stdout, sw.target))}${normalise(r.stderr, sw.target)}`);
        } finally {
          await sw.stop();
        }
      }
    }, 360_000);

    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('serves the script to ovs-ofctl: the switch answers, so equal transcripts mean equal answers', () => {
      const ovsShow = transcripts['ovs-ofctl']?.[0];
      expect(ovsShow?.step).toBe('show SW');
      expect(ovsShow?.out).toContain('[exit 0]\nOFPT_FEATURES_REPLY');
    });

    it('prints what ovs-ofctl prints, and exits as it does, for every command of the script', () => {
      expect(transcripts['tvs-ofctl']).toEqual(transcripts['ovs-ofctl']);
    });
  });
}
