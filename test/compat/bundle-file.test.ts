// `bundle SWITCH FILE`: Debian's `ovs-ofctl bundle` and `tvs-ofctl bundle` apply a file of flow
// and group changes in one atomic bundle, against Debian's ovs-vswitchd and tvs-vswitchd alike: a
// good file takes effect whole; a line the switch refuses rolls every line back, with the errors
// ovs-ofctl prints; a line that does not parse is named by file and line and nothing is sent.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPARED_SWITCHES, TVS_OFCTL } from '../helpers/differential.js';
import { ovsReferenceAvailable } from '../helpers/ovs-reference.js';
import { runForExit, type CliExit } from '../helpers/run-exit.js';


const FILES = {
  good: [
    '# a group and the flows that use it, all or nothing',
    'group add group_id=1,type=all,bucket=output:2',
    'flow add priority=10,in_port=1,actions=group:1',
    'flow priority=5,in_port=2,actions=output:1',
    'flow add priority=7,arp,actions=NORMAL',
    'flow delete_strict priority=7,arp',
  ],
  refused: ['flow add priority=20,in_port=1,actions=output:2', 'flow add priority=21,ip,actions=output:1', 'flow add priority=22,in_port=2,actions=group:99'],
  unparsable: ['flow add priority=30,in_port=1,actions=output:2', 'flow add priority=31,in_port=1,actions=bogus_action'],
};

/** What the good file leaves, and what the other two leave unchanged. */
const FLOWS_AFTER_GOOD = [' priority=10,in_port=1 actions=group:1', ' priority=5,in_port=2 actions=output:1', ' priority=0 actions=NORMAL', ''].join('\n');


const CLIENTS: Record<string, (...args: string[]) => Promise<CliExit>> = {
  'ovs-ofctl': (...args) => runForExit('ovs-ofctl', args),
  'tvs-ofctl': (...args) => runForExit(process.execPath, [TVS_OFCTL, ...args]),
};

const ovsOfctl = CLIENTS['ovs-ofctl']!;

for (const [switchName, startSwitch] of Object.entries(COMPARED_SWITCHES)) {
  for (const [clientName, client] of Object.entries(CLIENTS)) {
    describe.skipIf(!ovsReferenceAvailable())(`${clientName} bundle against ${switchName}`, () => {
      const results = new Map<keyof typeof FILES, { exit: CliExit; flows: string }>();
      let dir = '';
      let groups = '';

      beforeAll(async () => {
        dir = mkdtempSync(join(tmpdir(), 'tvs-t-bundle-'));
        const sw = await startSwitch();
        try {
          for (const [name, lines] of Object.entries(FILES) as Array<[keyof typeof FILES, string[]]>) {
            const path = join(dir, `${name}.txt`);
            writeFileSync(path, `${lines.join('\n')}\n`);
            const exit = await client('bundle', sw.target, path);
            const flows = (await ovsOfctl('-O', 'OpenFlow14', '--no-stats', 'dump-flows', sw.target)).stdout;
            results.set(name, { exit, flows });
          }
          groups = (await ovsOfctl('-O', 'OpenFlow14', 'dump-groups', sw.target)).stdout;
        } finally {
          await sw.stop();
        }
      }, 120_000);

      afterAll(() => {
        if (dir) rmSync(dir, { recursive: true, force: true });
      });

      it('applies every flow and group change of a good file', () => {
        expect(results.get('good')?.exit).toMatchObject({ code: 0, stderr: '' });
        expect(results.get('good')?.flows).toBe(FLOWS_AFTER_GOOD);
        expect(groups).toMatch(/\n group_id=1,type=all,bucket=actions=output:2\n$/);
      });

      it('rolls the whole file back when the switch refuses one line, printing its error and the failed commit', () => {
        const r = results.get('refused');
        expect(r?.exit.code).toBe(1);
        const stderr = (r?.exit.stderr ?? '').replace(/xid=0x[0-9a-f]+/g, 'xid=X').replaceAll(`${dir}/`, '');
        expect(stderr).toMatch(
          new RegExp(
            [
              'Error OFPBAC_BAD_OUT_GROUP for: OFPT_FLOW_MOD \\(OF1\\.4\\) \\(xid=X\\): ADD priority=22,in_port=2 actions=group:99',
              'Error OFPBFC_MSG_FAILED for: OFPT_BUNDLE_CONTROL \\(OF1\\.4\\) \\(xid=X\\):',
              ' bundle_id=0 type=COMMIT_REQUEST flags=atomic ordered',
              `${clientName}: talking to unix:\\S+ \\(Protocol error\\)`,
              '',
            ].join('\n'),
          ),
        );
        expect(r?.flows).toBe(FLOWS_AFTER_GOOD);
      });

      it('names the file and line of a change it cannot parse, and sends none of the file', () => {
        const r = results.get('unparsable');
        expect(r?.exit.code).toBe(1);
        expect(r?.exit.stderr).toContain(`${clientName}: ${join(dir, 'unparsable.txt')}:2: unknown action bogus_action`);
        expect(r?.flows).toBe(FLOWS_AFTER_GOOD);
      });
    });
  }
}
