// The real ovs-vsctl (Debian's openvswitch-switch) driving tvsdb-server: what users type must work.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vswitchSchemaPath } from '../../src/ovsdb/vswitch-schema.js';
import { eventually } from '../helpers/eventually.js';
import { DEBIAN_SCHEMA, ServerProcess, TempDir, createDb, ensureBuilt, ensureOvsTools, freePort, run } from './ovsdb-harness.js';

for (const [label, schema] of [
  ["Debian's vswitch.ovsschema", DEBIAN_SCHEMA],
  ['our vswitch.ovsschema', vswitchSchemaPath()],
] as const) {
  describe(`ovs-vsctl --no-wait against tvsdb-server serving ${label}`, () => {
    let dir: TempDir;
    let server: ServerProcess | undefined;
    let sock: string;
    let port: number;

    const vsctl = (db: string, ...args: string[]) => run('ovs-vsctl', [`--db=${db}`, '--no-wait', '--timeout=10', ...args], { OVS_RUNDIR: dir.path });
    const ok = async (...args: string[]): Promise<string> => {
      const r = await vsctl(`unix:${sock}`, ...args);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return r.stdout;
    };

    beforeAll(async () => {
      ensureOvsTools();
      ensureBuilt();
      dir = new TempDir();
      sock = dir.file('db.sock');
      port = await freePort();
      await createDb(dir.file('conf.db'), schema);
      server = await ServerProcess.start(dir.file('conf.db'), [`punix:${sock}`, `ptcp:${port}`]);
    });

    afterAll(async () => {
      await server?.stop();
      dir?.remove();
    });

    it('creates a bridge and a port, and show lists them', async () => {
      await ok('add-br', 'br0');
      await ok('add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'type=internal');
      expect((await ok('list-br')).trim()).toBe('br0');
      expect((await ok('list-ports', 'br0')).trim()).toBe('p1');
      const show = await ok('show');
      // ovs-vsctl prints ports in the order of their uuids, which are random.
      expect(show).toMatch(/Bridge br0\n/);
      expect(show).toMatch(/Port br0\n\s+Interface br0\n\s+type: internal\n/);
      expect(show).toMatch(/Port p1\n\s+Interface p1\n\s+type: internal\n/);
    });

    it('creates a bridge and configures it in one transaction (a where clause on a named-uuid)', async () => {
      await ok('add-br', 'br1', '--', 'set', 'bridge', 'br1', 'other_config:a=b');
      expect((await ok('get', 'bridge', 'br1', 'other_config:a')).trim()).toBe('b');
      await ok('del-br', 'br1');
    });

    it('sets and reads back map and scalar columns', async () => {
      await ok('set', 'bridge', 'br0', 'other_config:hwaddr="00:11:22:33:44:55"', 'fail_mode=secure');
      expect((await ok('get', 'bridge', 'br0', 'other_config:hwaddr')).trim()).toBe('"00:11:22:33:44:55"');
      expect((await ok('get-fail-mode', 'br0')).trim()).toBe('secure');
      await ok('set-controller', 'br0', 'tcp:127.0.0.1:6653');
      expect((await ok('get-controller', 'br0')).trim()).toBe('tcp:127.0.0.1:6653');
    });

    it('rejects a value outside the column enum with the constraint named', async () => {
      const r = await vsctl(`unix:${sock}`, 'set', 'bridge', 'br0', 'fail_mode=bogus');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/bogus/);
    });

    it('works over TCP as well as the unix socket', async () => {
      const r = await vsctl(`tcp:127.0.0.1:${port}`, 'br-exists', 'br0');
      expect(r.code).toBe(0);
    });

    // ovs-vsctl probes a TCP connection with an "echo" request (id "echo") every 5 s of silence.
    it('answers the echo probes of a long wait-until over TCP until an update releases it', async () => {
      // A server of its own that logs the messages it receives and sends.
      await createDb(dir.file('probed.db'), schema);
      const probedPort = await freePort();
      const probed = await ServerProcess.start(dir.file('probed.db'), [`ptcp:${probedPort}`], ['--verbose=jsonrpc:dbg']);
      try {
        const remote = `tcp:127.0.0.1:${probedPort}`;
        const waiting = vsctl(remote, 'wait-until', 'bridge', 'br-late');
        const answered = /send reply, \{"result":\[\],"error":null,"id":"echo"\}/;
        await eventually(() => answered.test(probed.stderr), 20_000, "ovs-vsctl's echo probe (after 5 s of silence) and its answer");
        expect(probed.stderr).toMatch(/received \{"id":"echo","method":"echo","params":\[\]\}/);
        expect(await vsctl(remote, 'add-br', 'br-late')).toMatchObject({ code: 0, stderr: '' });
        expect(await waiting).toMatchObject({ code: 0, stderr: '' });
      } finally {
        await probed.stop();
      }
    });

    it('deletes a port and a bridge, and garbage-collects their rows', async () => {
      await ok('del-port', 'br0', 'p1');
      expect((await ok('list-ports', 'br0')).trim()).toBe('');
      await ok('del-br', 'br0');
      expect((await ok('list-br')).trim()).toBe('');
      // Bridge, Port, Interface and Controller are not root tables: nothing may be left behind.
      for (const table of ['Bridge', 'Port', 'Interface', 'Controller']) {
        expect((await ok('--columns=_uuid', 'list', table)).trim()).toBe('');
      }
    });
  });
}
