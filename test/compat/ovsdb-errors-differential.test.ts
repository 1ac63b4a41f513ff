// Differential test: bad transactions sent through the real ovsdb-client to Debian's
// ovsdb-server and to tvsdb-server must fail the same way (same results, same error tags).
// Known, deliberate differences are listed at the end, each with its reason.

import { describe, expect, it } from 'vitest';
import { transcript } from '../helpers/differential.js';
import type { CliExit } from '../helpers/run-exit.js';
import { run, serverPairForFile } from './ovsdb-harness.js';

const SAME: unknown[][] = [
  [{ op: 'insert', table: 'Open_vSwitch', row: {} }],
  [{ op: 'insert', table: 'Nope', row: {} }],
  [{ op: 'insert', table: 'Bridge', row: { nope: 1 } }],
  [{ op: 'insert', table: 'Bridge', row: { name: 5 } }],
  [{ op: 'insert', table: 'Bridge', row: { name: 'x', fail_mode: 'bogus' } }],
  [{ op: 'insert', table: 'Bridge', 'uuid-name': 'a', row: {} }, { op: 'insert', table: 'Bridge', 'uuid-name': 'a', row: {} }],
  [{ op: 'insert', table: 'Port', row: { name: 'p', interfaces: ['named-uuid', 'nope'] } }],
  [{ op: 'update', table: 'Bridge', where: [], row: { name: 'y' } }],
  [{ op: 'insert', table: 'Open_vSwitch', row: {} }],
  [{ op: 'update', table: 'Open_vSwitch', where: [], row: { bridges: ['uuid', '11111111-2222-3333-4444-555555555555'] } }],
  [{ op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['next_cfg', '/=', 0]] }],
  [{ op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['next_cfg', 'frob', 1]] }],
  [{ op: 'select', table: 'Open_vSwitch', where: [['next_cfg', '<', 'x']] }],
  [{ op: 'select', table: 'Open_vSwitch', where: [['bridges', '<', 1]] }],
  [{ op: 'select', table: 'Open_vSwitch', where: [['next_cfg', '~', 1]] }],
  [{ op: 'wait', table: 'Open_vSwitch', where: [], columns: ['next_cfg'], until: '==', rows: [{ next_cfg: 5 }], timeout: 0 }],
  [{ op: 'abort' }],
  [{ op: 'assert', lock: 'x' }],
  [{ op: 'frob' }],
  [{ op: 'insert', table: 'Bridge', row: { name: 'a' } }, { op: 'insert', table: 'Bridge', row: { name: 'a' } }],
  [
    { op: 'insert', table: 'Open_vSwitch', row: { bridges: ['set', [['named-uuid', 'b1'], ['named-uuid', 'b2']]] } },
    { op: 'insert', table: 'Bridge', 'uuid-name': 'b1', row: { name: 'a' } },
    { op: 'insert', table: 'Bridge', 'uuid-name': 'b2', row: { name: 'a' } },
  ],
  [{ op: 'delete', table: 'Open_vSwitch', where: [] }, { op: 'insert', table: 'SSL', row: {} }, { op: 'insert', table: 'SSL', row: {} }],
  [{ op: 'commit' }],
  [{ op: 'comment', comment: 5 }],
  [{ op: 'insert', table: 'Bridge', row: {}, extra: 1 }],
];

// Where we deliberately differ from ovsdb-server 3.1:
//  - a set with a duplicate element: ovsdb-server says "ovsdb error", we say "constraint violation";
//  - "_uuid" in an insert's row: ovsdb-server ignores it, we reject it (it cannot be written);
//  - integers beyond ±2^53-1: ovsdb-server has 64 bits, we refuse ("range error"/"constraint violation");
//  - arithmetic mutators on a non-numeric column: "syntax error" there, "constraint violation" here;
//  - ovsdb-server adds a "syntax" member quoting the offending JSON; we name it in "details".

function shape(stdout: string): unknown {
  const results = JSON.parse(stdout) as unknown[];
  return results.map((r) => {
    if (r === null || typeof r !== 'object') return r;
    if ('error' in r) return { error: (r as { error: string }).error };
    if ('uuid' in r) return { uuid: 'UUID' };
    return r;
  });
}

describe('bad transactions fail the same way on tvsdb-server as on Debian ovsdb-server', () => {
  const servers = serverPairForFile();

  it('for every transaction of the list, in order', async () => {
    const transact = (sock: string) => (ops: unknown[]) => run('ovsdb-client', ['transact', `unix:${servers.dir.file(sock)}`, JSON.stringify(['Open_vSwitch', ...ops])]);
    const normalise = (r: CliExit) => JSON.stringify(shape(r.stdout));
    const label = (ops: unknown[]) => JSON.stringify(ops);
    const [theirs, ours] = await Promise.all([transcript(SAME, transact('theirs.sock'), normalise, label), transcript(SAME, transact('ours.sock'), normalise, label)]);
    expect(ours).toEqual(theirs);
  });
});
