// Differential test of the TLV map and tun_metadata flows: the same script of add-tlv-map,
// dump-tlv-map, del-tlv-map and flows on tun_metadata, run by Debian's ovs-ofctl and by
// tvs-ofctl, against Debian's ovs-vswitchd and against tvs-vswitchd (each with bridge br0 and
// dummy ports p1, p2, fresh for each client). All four transcripts must be equal: OVS's
// errors for a taken index, a mapped option, a bad length and a mapping in use, and flows on
// tun_metadata printed as ovs-ofctl prints them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPARED_SWITCHES, TVS_OFCTL, maskToolName, transcript, type TranscriptEntry } from '../helpers/differential.js';
import { ovsReferenceAvailable } from '../helpers/ovs-reference.js';
import { runForExit, type CliExit } from '../helpers/run-exit.js';



const CLIENTS: Record<string, (args: string[]) => Promise<CliExit>> = {
  'ovs-ofctl': (args) => runForExit('ovs-ofctl', args),
  'tvs-ofctl': (args) => runForExit(process.execPath, [TVS_OFCTL, ...args]),
};

const SCRIPT: string[][] = [
  ['dump-tlv-map', 'SW'],
  ['add-tlv-map', 'SW', '{class=0xffff,type=0,len=4}->tun_metadata0'],
  ['dump-tlv-map', 'SW'],
  ['add-tlv-map', 'SW', '{class=0xffff,type=0,len=4}->tun_metadata1'],
  ['add-tlv-map', 'SW', '{class=0xffff,type=1,len=4}->tun_metadata0'],
  ['add-tlv-map', 'SW', '{class=0xffff,type=1,len=5}->tun_metadata1'],
  ['add-tlv-map', 'SW', '{class=0x102,type=0x80,len=8}->tun_metadata1,{class=1,type=2,len=4}->tun_metadata63'],
  ['-O', 'OpenFlow13', 'dump-tlv-map', 'SW'],
  // Added over OpenFlow 1.3: OVS marks a rule added over 1.0 reset_counts, which TVS does not (yet).
  ['-O', 'OpenFlow13', 'add-flow', 'SW', 'priority=5,tun_metadata0=0x1234,actions=output:1'],
  ['-O', 'OpenFlow13', 'add-flow', 'SW', 'tun_metadata1=0x100/0xff00,actions=drop'],
  ['-O', 'OpenFlow13', 'add-flow', 'SW', 'in_port=1,actions=set_field:0x5->tun_metadata63,output:2'],
  ['-O', 'OpenFlow13', 'add-flow', 'SW', 'priority=6,in_port=2,actions=load:0x7->NXM_NX_TUN_METADATA0[0..7],output:1'],
  ['dump-flows', 'SW', '--no-stats'],
  ['-O', 'OpenFlow13', 'dump-flows', 'SW', '--no-stats'],
  ['del-tlv-map', 'SW', '{class=0xffff,type=0,len=4}->tun_metadata0'],
  ['del-flows', 'SW'],
  ['del-tlv-map', 'SW', '{class=0xffff,type=0,len=4}->tun_metadata0'],
  ['dump-tlv-map', 'SW'],
  ['del-tlv-map', 'SW'],
  ['dump-tlv-map', 'SW'],
];

/**
 * What may differ between runs and clients: xids, ages, the tool's name, and ovs-ofctl's log
 * lines (its vlog warns on stderr when it cannot decode a refused request; the decode error it
 * prints after OFPT_ERROR is compared).
 */
function normalise(text: string, target: string): string {
  return maskToolName(text.replaceAll(target, 'SW'), 'ofctl', 'OFCTL')
    .replace(/^[0-9TZ:.-]+\|\d+\|\w+\|(?:DBG|INFO|WARN|ERR|EMER)\|.*\n/gm, '')
    .replace(/xid=0x[0-9a-f]+/g, 'xid=X')
    // A refused request echoed in hex: its header's xid (bytes 4-7) and their characters.
    .replace(/^(00000000 {2}(?:[0-9a-f]{2} ){4})[0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}(.{25}\|.{4}).{4}/gm, '$1XX XX XX XX$2XXXX')
    .replace(/duration[=:][0-9.]+s/g, 'duration=D')
    .replace(/(idle|hard)_age=\d+/g, '$1_age=A');
}

describe.skipIf(!ovsReferenceAvailable())('the TLV map and tun_metadata flows, ovs-ofctl and tvs-ofctl against ovs-vswitchd and tvs-vswitchd', () => {
  const transcripts: Record<string, TranscriptEntry[]> = {};

  beforeAll(async () => {
    for (const [switchName, startSwitch] of Object.entries(COMPARED_SWITCHES)) {
      for (const [clientName, client] of Object.entries(CLIENTS)) {
        const sw = await startSwitch();
        try {
          const runStep = (step: string[]) => client(step.map((a) => (a === 'SW' ? sw.target : a)));
          transcripts[`${clientName} ${switchName}`] = await transcript(SCRIPT, runStep, (r) => `[exit ${r.code}]\n${normalise(r.stdout, sw.target)}${normalise(r.stderr, sw.target)}`);
        } finally {
          await sw.stop();
        }
      }
    }
  }, 240_000);

  afterAll(() => undefined);

  it('runs the script on ovs-vswitchd: the mapping and the flows on it are there to see', () => {
    const dump = transcripts['ovs-ofctl ovs-vswitchd']?.[2];
    expect(dump?.out).toContain(' 0xffff     0       4  tun_metadata0');
  });

  it('answers ovs-ofctl on tvs-vswitchd as ovs-vswitchd does, step by step', () => {
    expect(transcripts['ovs-ofctl tvs-vswitchd']).toEqual(transcripts['ovs-ofctl ovs-vswitchd']);
  });

  it('prints with tvs-ofctl what ovs-ofctl prints, on both switches', () => {
    expect(transcripts['tvs-ofctl ovs-vswitchd']).toEqual(transcripts['ovs-ofctl ovs-vswitchd']);
    expect(transcripts['tvs-ofctl tvs-vswitchd']).toEqual(transcripts['ovs-ofctl ovs-vswitchd']);
  });
});
