import { describe, expect, it } from 'vitest';
import { FlowTables } from '../../../src/ofproto/flow-table.js';
import { GroupTable } from '../../../src/ofproto/groups.js';
import { formatGroup } from '../../../src/ofproto/print.js';
import { parseFlowMod, parseGroupMod } from '../../../src/openflow/flow-syntax.js';

const gt = () => new GroupTable(() => 0);
const add = (g: GroupTable, s: string) => g.apply(parseGroupMod(s, 'add'));
const outPorts = (bs: { actions: { type: string; port?: number }[] }[]) => bs.flatMap((b) => b.actions.map((a) => a.port));

describe('group table', () => {
  it('sends an all group to every bucket', () => {
    const g = gt();
    add(g, 'group_id=1,type=all,bucket=output:1,bucket=output:2');
    expect(outPorts(g.selectBuckets(g.get(1)!, 42))).toEqual([1, 2]);
  });

  it('sends a fast-failover group to the first bucket whose watched port is live', () => {
    const g = gt();
    add(g, 'group_id=2,type=ff,bucket=watch_port:1,actions=output:1,bucket=watch_port:2,actions=output:2');
    expect(outPorts(g.selectBuckets(g.get(2)!, 0, () => true))).toEqual([1]);
    expect(outPorts(g.selectBuckets(g.get(2)!, 0, (p) => p !== 1))).toEqual([2]);
    expect(g.selectBuckets(g.get(2)!, 0, () => false)).toEqual([]);
  });

  it('spreads a select group by weight and keeps a flow on its bucket', () => {
    const g = gt();
    add(g, 'group_id=3,type=select,bucket=weight:30,actions=output:1,bucket=weight:10,actions=output:2');
    const counts = new Map<number, number>();
    for (let h = 0; h < 4000; h++) {
      const p = outPorts(g.selectBuckets(g.get(3)!, Math.imul(h, 2654435761)))[0]!;
      counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    expect(counts.get(1)! / 4000).toBeGreaterThan(0.68);
    expect(counts.get(1)! / 4000).toBeLessThan(0.82);
    expect(g.selectBuckets(g.get(3)!, 77)).toEqual(g.selectBuckets(g.get(3)!, 77));
  });

  it('skips dead buckets in a select group', () => {
    const g = gt();
    add(g, 'group_id=4,type=select,bucket=watch_port:1,actions=output:1,bucket=watch_port:2,actions=output:2');
    for (let h = 0; h < 50; h++) expect(outPorts(g.selectBuckets(g.get(4)!, h, (p) => p === 2))).toEqual([2]);
  });

  it('follows OpenFlow 1.3 group_mod errors', () => {
    const g = gt();
    add(g, 'group_id=1,type=indirect,bucket=output:1');
    expect(() => add(g, 'group_id=1,type=all,bucket=output:1')).toThrow(/OFPGMFC_GROUP_EXISTS/);
    expect(() => g.apply(parseGroupMod('group_id=9,type=all,bucket=output:1', 'modify'))).toThrow(/OFPGMFC_UNKNOWN_GROUP/);
    expect(() => add(g, 'group_id=2,type=indirect,bucket=output:1,bucket=output:2')).toThrow(/OFPGMFC_BAD_BUCKET/);
    expect(() => add(g, 'group_id=3,type=ff,bucket=output:1')).toThrow(/OFPGMFC_BAD_WATCH/);
    expect(() => add(g, 'group_id=4,type=all,bucket=group:99')).toThrow(/OFPBAC_BAD_OUT_GROUP/);
    add(g, 'group_id=5,type=all,bucket=group:1');
    expect(() => g.apply(parseGroupMod('group_id=1,type=indirect,bucket=group:5', 'modify'))).toThrow(/OFPGMFC_LOOP/);
    expect(g.apply(parseGroupMod('group_id=42', 'delete'))).toEqual([]);
  });

  it('deleting a group removes the flows that use it', () => {
    const g = gt();
    const t = new FlowTables({ clock: () => 0, defaultRule: false });
    add(g, 'group_id=1,type=all,bucket=output:1');
    t.apply(parseFlowMod('priority=1,in_port=1,actions=group:1'));
    t.apply(parseFlowMod('priority=1,in_port=2,actions=output:1'));
    const gone = g.apply(parseGroupMod('group_id=1', 'delete'));
    expect(gone.flatMap((id) => t.deleteRulesForGroup(id)).map((e) => e.reason)).toEqual(['group_delete']);
    expect(t.count()).toBe(1);
  });

  it('prints groups as ovs-ofctl dump-groups does', () => {
    const g = gt();
    add(g, 'group_id=1,type=all,bucket=output:1,bucket=output:2');
    add(g, 'group_id=2,type=select,bucket=weight:10,actions=output:1,output:3,bucket=output:2');
    add(g, 'group_id=3,type=ff,bucket=watch_port:1,actions=output:1');
    expect(g.dump().map(formatGroup)).toEqual([
      'group_id=1,type=all,bucket=actions=output:1,bucket=actions=output:2',
      'group_id=2,type=select,bucket=weight:10,actions=output:1,output:3,bucket=actions=output:2',
      'group_id=3,type=ff,bucket=watch_port:1,actions=output:1',
    ]);
    for (const s of g.dump().map(formatGroup)) expect(formatGroup(parseGroupMod(s))).toBe(s);
  });
});
