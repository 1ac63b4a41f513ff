// tvs-ofctl's command line and its conversation with a switch, in-process: the switch here is a
// few lines of OfConnection.accept() on a real unix socket in $TVS_RUNDIR, so a bridge name, the
// hello, the requests, the replies and the error replies all cross a real connection.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/tvs-ofctl.js';
import { encodeMessage } from '../../../src/openflow/codec/index.js';
import { OfConnection } from '../../../src/openflow/connection.js';
import type { OfMessage } from '../../../src/openflow/messages.js';
import { OFPP } from '../../../src/ofproto/actions.js';

async function ofctl(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

let rundir: string;
let oldRundir: string | undefined;
let server: Server | undefined;
/** What the switch received, in order. */
const received: OfMessage[] = [];

/** A switch on $TVS_RUNDIR/br0.mgmt that answers with `answer` (undefined: no reply). */
function startSwitch(answer: (msg: OfMessage, conn: OfConnection, xid: number) => void): Promise<void> {
  server = createServer((socket) => {
    void OfConnection.accept(socket).then((conn) => {
      conn.on('message', (msg: OfMessage, xid: number) => {
        received.push(msg);
        if (msg.type === 'barrier_request') conn.send({ type: 'barrier_reply' }, xid);
        else answer(msg, conn, xid);
      });
    });
  });
  return new Promise((resolve) => server!.listen(join(rundir, 'br0.mgmt'), resolve));
}

beforeAll(() => {
  rundir = mkdtempSync(join(tmpdir(), 'tvs-t-ofctl-cli-'));
  oldRundir = process.env.TVS_RUNDIR;
  process.env.TVS_RUNDIR = rundir;
});

afterEach(async () => {
  received.length = 0;
  if (server) await new Promise((r) => server!.close(r));
  server = undefined;
});

afterAll(() => {
  if (oldRundir === undefined) delete process.env.TVS_RUNDIR;
  else process.env.TVS_RUNDIR = oldRundir;
  rmSync(rundir, { recursive: true, force: true });
});

describe('the command line', () => {
  it('counts arguments as ovs-ofctl does and names the command', async () => {
    expect(await ofctl('show')).toEqual({ code: 1, out: '', err: "tvs-ofctl: 'show' command requires at least 1 arguments\n" });
    expect((await ofctl('show', 'br0', 'extra')).err).toBe("tvs-ofctl: 'show' command takes at most 1 arguments\n");
    expect((await ofctl('frobnicate', 'br0')).err).toBe("tvs-ofctl: unknown command 'frobnicate'; use --help for help\n");
  });

  it('refuses an OpenFlow version it does not know, quoting it', async () => {
    expect((await ofctl('-O', 'OpenFlow99', 'show', 'br0')).err).toBe('tvs-ofctl: Unknown OpenFlow version: "OpenFlow99"\n');
    expect((await ofctl('-t', 'soon', 'show', 'br0')).err).toBe('tvs-ofctl: value soon on -t or --timeout is invalid\n');
  });

  it('says a name that is neither a bridge in $TVS_RUNDIR nor a socket is not a bridge or a socket', async () => {
    expect(await ofctl('show', 'br7')).toEqual({ code: 1, out: '', err: 'tvs-ofctl: br7 is not a bridge or a socket\n' });
  });
});

describe('talking to a switch', () => {
  it('finds a bridge by name on its .mgmt socket and prints the features and config replies', async () => {
    await startSwitch((msg, conn, xid) => {
      if (msg.type === 'features_request') {
        conn.send({ type: 'features_reply', datapathId: 0xa1n, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0xc7, actions: 0x1, ports: [
          { portNo: OFPP.LOCAL, hwAddr: 0x0200000000a1n, name: 'br0', config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 },
        ] }, xid);
      } else if (msg.type === 'get_config_request') conn.send({ type: 'get_config_reply', flags: 0, missSendLen: 128 }, xid);
    });
    const r = await ofctl('show', 'br0');
    expect(r).toEqual({
      code: 0,
      err: '',
      out: `OFPT_FEATURES_REPLY (xid=0x1): dpid:00000000000000a1
n_tables:254, n_buffers:0
capabilities: FLOW_STATS TABLE_STATS PORT_STATS QUEUE_STATS ARP_MATCH_IP
actions: output
 LOCAL(br0): addr:02:00:00:00:00:a1
     config:     0
     state:      0
     speed: 0 Mbps now, 0 Mbps max
OFPT_GET_CONFIG_REPLY (xid=0x1): frags=normal miss_send_len=128
`,
    });
  });

  it('switches an OpenFlow 1.0 connection to NXM before a flow_mod, and prints a refusal as ovs-ofctl does, exiting 1', async () => {
    await startSwitch((msg, conn, xid) => {
      // As OVS does, the error carries the whole refused request.
      if (msg.type === 'flow_mod') conn.send({ type: 'error', name: 'OFPBAC_BAD_OUT_GROUP', data: encodeMessage(msg, conn.session, xid)[0]! }, xid);
    });
    const r = await ofctl('add-flow', 'br0', 'priority=5,reg0=1,actions=group:77');
    expect(received.map((m) => m.type)).toEqual(['nx_set_flow_format', 'barrier_request', 'flow_mod', 'barrier_request']);
    expect(r).toEqual({ code: 1, out: '', err: 'OFPT_ERROR (xid=0x3): OFPBAC_BAD_OUT_GROUP\nNXT_FLOW_MOD (xid=0x3): ADD priority=5,reg0=0x1 actions=group:77\n' });
  });

  it('sends a flow that OpenFlow 1.0 can express as OpenFlow 1.0, asking only for table ids, and hex-dumps a truncated echo', async () => {
    await startSwitch((msg, conn, xid) => {
      if (msg.type === 'flow_mod') conn.send({ type: 'error', name: 'OFPFMFC_OVERLAP', data: encodeMessage(msg, conn.session, xid)[0]!.subarray(0, 16) }, xid);
    });
    const r = await ofctl('add-flow', 'br0', 'table=9,in_port=1,actions=drop');
    expect(received.map((m) => m.type)).toEqual(['nx_flow_mod_table_id', 'barrier_request', 'flow_mod', 'barrier_request']);
    expect(r.err).toBe(
      'OFPT_ERROR (xid=0x3): OFPFMFC_OVERLAP\nOFPT_FLOW_MOD (xid=0x3):\n(***truncated to 16 bytes from 72***)\n' +
        '00000000  01 0e 00 48 00 00 00 03-00 38 20 fe 00 01 00 00 |...H.....8 .....|\n',
    );
  });

  it('reads add-flows from a file, one flow_mod a line, a leading command word choosing the command', async () => {
    await startSwitch(() => undefined);
    const file = join(rundir, 'flows.txt');
    writeFileSync(file, '# comment\npriority=7,in_port=1,actions=output:2\n\ndelete_strict priority=7,in_port=1\n');
    expect(await ofctl('add-flows', 'br0', file)).toEqual({ code: 0, out: '', err: '' });
    const mods = received.flatMap((m) => (m.type === 'flow_mod' ? [m.mod.command] : []));
    expect(mods).toEqual(['add', 'delete_strict']);
  });

  it('refuses a bundle file line that is neither flow nor group, by file and line, before connecting', async () => {
    const file = join(rundir, 'bundle.txt');
    writeFileSync(file, 'flow add in_port=1,actions=drop\n# a comment\nmeter add meter=1,drop\n');
    expect(await ofctl('bundle', 'br0', file)).toEqual({ code: 1, out: '', err: `tvs-ofctl: ${file}:3: Unsupported bundle message type: meter (a line starts with flow or group)\n` });
    expect(received).toEqual([]);
  });
});
