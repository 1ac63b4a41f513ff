// TLS between TVS and the real OVS tools, with certificates made by Debian's ovs-pki: the
// database (tvsdb-server's pssl:, Debian's ovsdb-server's pssl:, the embedded database's Manager
// targets) and OpenFlow (a bridge's pssl: controller target, ovs-testcontroller as an ssl:
// controller). Switch certificates are signed by ovs-pki's switchca, controller and client
// certificates by its controllerca; each side verifies the other against the CA that signed it.
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DummyHost } from '../../src/api/dummy-host.js';
import type { Switch } from '../../src/api/switch.js';
import { dummyLan, stopDummyLans } from '../helpers/dummy-lan.js';
import { eventually } from '../helpers/eventually.js';
import { ROOT, ServerProcess, TVS_VSCTL, TempDir, createDb, DEBIAN_SCHEMA, ensureOvsTools, ensureVsctlBuilt, freePort, run } from './ovsdb-harness.js';

const TVS_OFCTL = join(ROOT, 'dist/src/cli/tvs-ofctl.js');
const TVSDB_CLIENT = join(ROOT, 'dist/src/cli/tvsdb-client.js');

/** One ovs-pki directory and the certificates the tests present. */
interface Pki {
  switchCa: string;
  controllerCa: string;
  /** A switch's key and certificate (switchca). */
  sw: { key: string; cert: string };
  /** A controller's or client's key and certificate (controllerca). */
  ct: { key: string; cert: string };
  /** A certificate from a PKI of its own: no CA here signed it. */
  stranger: { key: string; cert: string };
}

function makePki(dir: TempDir): Pki {
  const pki = (cwd: string, ...args: string[]) => execFileSync('ovs-pki', args, { cwd, stdio: 'pipe', timeout: 120_000 });
  pki(dir.path, 'init', '--dir', dir.file('pki'));
  pki(dir.path, '--dir', dir.file('pki'), 'req+sign', 'sw', 'switch');
  pki(dir.path, '--dir', dir.file('pki'), 'req+sign', 'ct', 'controller');
  pki(dir.path, 'init', '--dir', dir.file('other-pki'));
  pki(dir.path, '--dir', dir.file('other-pki'), 'req+sign', 'stranger', 'controller');
  const pair = (name: string) => ({ key: dir.file(`${name}-privkey.pem`), cert: dir.file(`${name}-cert.pem`) });
  return {
    switchCa: dir.file('pki/switchca/cacert.pem'),
    controllerCa: dir.file('pki/controllerca/cacert.pem'),
    sw: pair('sw'),
    ct: pair('ct'),
    stranger: pair('stranger'),
  };
}

/** The options that present `who`'s certificate and verify the peer against `ca`. */
const pkiArgs = (who: { key: string; cert: string }, ca: string): string[] => ['-p', who.key, '-c', who.cert, '-C', ca];

let dir: TempDir;
let pki: Pki;
let server: ServerProcess;
let dbPort: number;

beforeAll(async () => {
  ensureOvsTools();
  ensureVsctlBuilt();
  dir = new TempDir();
  pki = makePki(dir);
  dbPort = await freePort();
  await createDb(dir.file('conf.db'), DEBIAN_SCHEMA);
  // --peer-ca-cert: the server sends its CA after its certificate, for clients that bootstrap.
  server = await ServerProcess.start(dir.file('conf.db'), [`pssl:${dbPort}`], [...pkiArgs(pki.sw, pki.controllerCa), `--peer-ca-cert=${pki.switchCa}`]);
}, 120_000);

afterAll(async () => {
  await server.stop();
  dir.remove();
});

describe("tvsdb-server's pssl: and the real OVS clients", () => {
  const db = () => `ssl:127.0.0.1:${dbPort}`;

  it('serves ovs-vsctl with ovs-pki certificates: set-ssl, get-ssl and show', async () => {
    const vsctl = (...args: string[]) => run('ovs-vsctl', [`--db=${db()}`, ...pkiArgs(pki.ct, pki.switchCa), '--no-wait', '--timeout=10', ...args]);
    expect((await vsctl('init')).code).toBe(0);
    const set = await vsctl('add-br', 'tlsbr', '--', 'set-ssl', '/etc/k.pem', '/etc/c.pem', '/etc/ca.pem');
    expect(set.stderr).toBe('');
    expect((await vsctl('show')).stdout).toMatch(/Bridge tlsbr\n/);
    expect((await vsctl('get-ssl')).stdout).toBe('Private key: /etc/k.pem\nCertificate: /etc/c.pem\nCA Certificate: /etc/ca.pem\nBootstrap: false\n');
  });

  it('serves ovsdb-client list-dbs and dump', async () => {
    const list = await run('ovsdb-client', [...pkiArgs(pki.ct, pki.switchCa), 'list-dbs', db()]);
    expect(list.stdout.split('\n').sort()).toEqual(['', 'Open_vSwitch', '_Server']);
    const dump = await run('ovsdb-client', [...pkiArgs(pki.ct, pki.switchCa), 'dump', db(), 'Open_vSwitch', 'Bridge', 'name']);
    expect(dump.code).toBe(0);
    expect(dump.stdout).toMatch(/tlsbr/);
  });

  it('refuses a client whose certificate another CA signed, logs the peer, the reason and the fix, and keeps serving', async () => {
    const refused = await run('ovs-vsctl', [`--db=${db()}`, ...pkiArgs(pki.stranger, pki.switchCa), '--timeout=10', 'list-br']);
    expect(refused.code).not.toBe(0);
    await eventually(() => /TLS connection refused/.test(server.stderr), 10_000, 'the refusal in the server log');
    expect(server.stderr).toMatch(/pssl:\d+: 127\.0\.0\.1:\d+: TLS connection refused: unable to verify the first certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\); the peer certificate must be signed by the CA in --ca-cert/);
    const served = await run('ovs-vsctl', [`--db=${db()}`, ...pkiArgs(pki.ct, pki.switchCa), '--timeout=10', 'list-br']);
    expect(served.stdout).toBe('tlsbr\n');
  });

  it('refuses, in tvs-vsctl, a server that its CA did not sign, naming the reason', async () => {
    const r = await run(process.execPath, [TVS_VSCTL, `--db=${db()}`, ...pkiArgs(pki.ct, pki.controllerCa), 'list-br']);
    expect(r.code).not.toBe(0);
    // The server sends its CA after its certificate (--peer-ca-cert): a root that is not ours.
    expect(r.stderr).toMatch(/database connection failed \(.*TLS connection refused: self-signed certificate in certificate chain \(SELF_SIGNED_CERT_IN_CHAIN\); the peer certificate must be signed by the CA in --ca-cert/);
  });

  it('bootstraps the CA on first connection with --bootstrap-ca-cert and saves it (tvs-vsctl and ovs-vsctl alike)', async () => {
    for (const [tool, args] of [
      ['tvs-vsctl', [TVS_VSCTL]],
      ['ovs-vsctl', []],
    ] as const) {
      const learned = dir.file(`learned-by-${tool}.pem`);
      const cmd = tool === 'tvs-vsctl' ? process.execPath : 'ovs-vsctl';
      const r = await run(cmd, [...args, `--db=${db()}`, '-p', pki.ct.key, '-c', pki.ct.cert, `--bootstrap-ca-cert=${learned}`, '--timeout=10', 'list-br']);
      // ovs-vsctl drops its first connection once it has saved the CA and reconnects; either way the file is the switch CA.
      if (tool === 'tvs-vsctl') expect(r.stdout).toBe('tlsbr\n');
      expect(new X509Certificate(readFileSync(learned)).fingerprint256).toBe(new X509Certificate(readFileSync(pki.switchCa)).fingerprint256);
    }
  });

  it('serves tvsdb-client over ssl:', async () => {
    const r = await run(process.execPath, [TVSDB_CLIENT, ...pkiArgs(pki.ct, pki.switchCa), 'list-dbs', db()]);
    expect(r.stdout.split('\n').sort()).toEqual(['', 'Open_vSwitch', '_Server']);
  });
});

describe("tvs-vsctl against Debian's ovsdb-server over TLS", () => {
  it('adds a bridge and lists it', async () => {
    const port = await freePort();
    const ovsDir = new TempDir();
    try {
      await createDb(ovsDir.file('ovs.db'), DEBIAN_SCHEMA);
      const ovsdb = spawn(
        'ovsdb-server',
        [ovsDir.file('ovs.db'), `--remote=pssl:${port}:127.0.0.1`, ...pkiArgs(pki.sw, pki.controllerCa), `--unixctl=${ovsDir.file('ovsdb.ctl')}`, '--no-chdir'],
        { stdio: 'ignore' },
      );
      try {
        const tvsVsctl = (...args: string[]) => run(process.execPath, [TVS_VSCTL, `--db=ssl:127.0.0.1:${port}`, ...pkiArgs(pki.ct, pki.switchCa), '--no-wait', ...args]);
        await eventually(async () => (await tvsVsctl('init')).code === 0, 10_000, 'ovsdb-server to accept tvs-vsctl');
        const add = await tvsVsctl('add-br', 'ovsbr');
        expect(add.stderr).toBe('');
        expect((await tvsVsctl('list-br')).stdout).toBe('ovsbr\n');
      } finally {
        ovsdb.kill('SIGTERM');
      }
    } finally {
      ovsDir.remove();
    }
  });
});

describe('OpenFlow over TLS', () => {
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await stopDummyLans();
  });

  /** One transaction, then waits for the switch to apply it, as tvs-vsctl does. */
  async function configure(sw: Switch<DummyHost>, ops: unknown[]): Promise<void> {
    const results = await sw.daemon.db.transact('Open_vSwitch', [
      ...ops,
      { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['next_cfg', '+=', 1]] },
      { op: 'select', table: 'Open_vSwitch', where: [], columns: ['next_cfg'] },
    ]);
    const { rows } = results[results.length - 1] as { rows: Array<{ next_cfg: number }> };
    await sw.daemon.waitForConfig(rows[0]!.next_cfg);
  }

  /** The switch's SSL row (its switch certificate, controllers verified against controllerca), and br0's controller. */
  function sslAndController(target: string, failMode: 'secure' | 'standalone'): unknown[] {
    return [
      { op: 'insert', table: 'SSL', row: { private_key: pki.sw.key, certificate: pki.sw.cert, ca_cert: pki.controllerCa }, 'uuid-name': 'ssl' },
      { op: 'update', table: 'Open_vSwitch', where: [], row: { ssl: ['named-uuid', 'ssl'] } },
      { op: 'insert', table: 'Controller', row: { target, inactivity_probe: 1000, max_backoff: 1000 }, 'uuid-name': 'ctl' },
      { op: 'update', table: 'Bridge', where: [['name', '==', 'br0']], row: { controller: ['named-uuid', 'ctl'], fail_mode: failMode } },
    ];
  }

  it("serves tvs-ofctl and ovs-ofctl dump-flows on a bridge's pssl: controller target, and refuses a stranger", async () => {
    const { sw } = await dummyLan(2);
    const port = await freePort();
    await configure(sw, sslAndController(`pssl:${port}:127.0.0.1`, 'standalone'));
    const target = `ssl:127.0.0.1:${port}`;
    const tvs = await run(process.execPath, [TVS_OFCTL, ...pkiArgs(pki.ct, pki.switchCa), 'dump-flows', target]);
    expect(tvs.stderr).toBe('');
    expect(tvs.stdout).toMatch(/priority=0 actions=NORMAL/);
    const ovs = await run('ovs-ofctl', [...pkiArgs(pki.ct, pki.switchCa), 'dump-flows', target]);
    expect(ovs.stdout).toMatch(/priority=0 actions=NORMAL/);
    const stranger = await run(process.execPath, [TVS_OFCTL, ...pkiArgs(pki.stranger, pki.switchCa), '-t', '5', 'dump-flows', target]);
    expect(stranger.code).not.toBe(0);
    // The switch still serves the right certificate afterwards.
    expect((await run(process.execPath, [TVS_OFCTL, ...pkiArgs(pki.ct, pki.switchCa), 'dump-flows', target])).stdout).toMatch(/actions=NORMAL/);
  });

  it('is the switch of ovs-testcontroller over TLS: hosts ping through the flows the controller installs', async () => {
    const { sw, hosts: [h1, h2] } = await dummyLan(2);
    const port = await freePort();
    // OpenFlow 1.3: OVS 3.1's ovs-testcontroller encodes OpenFlow 1.5 packet-outs its own ovs-ofctl cannot decode.
    const controller = spawn('ovs-testcontroller', ['-O', 'OpenFlow13', ...pkiArgs(pki.ct, pki.switchCa), `pssl:${port}:127.0.0.1`], { stdio: 'ignore', env: { ...process.env, OVS_RUNDIR: dir.path } });
    children.push(controller);
    await configure(sw, sslAndController(`ssl:127.0.0.1:${port}`, 'secure'));
    await eventually(
      async () => {
        const [res] = (await sw.daemon.db.transact('Open_vSwitch', [{ op: 'select', table: 'Controller', where: [], columns: ['is_connected'] }])) as [{ rows: Array<{ is_connected: boolean }> }];
        return res.rows[0]?.is_connected === true;
      },
      15_000,
      'the switch to connect to ovs-testcontroller over TLS',
    );
    expect(await h1.ping(h2.ip, { timeoutMs: 3000 })).toBe(1);
    const flows = await run(process.execPath, [TVS_OFCTL, '-O', 'OpenFlow13', 'dump-flows', sw.daemon.mgmtSocket('br0')]);
    expect(flows.stdout).toMatch(/actions=output:/);
  });

  it("serves ovs-vsctl on a pssl: Manager target of the embedded database, with the SSL row's certificate", async () => {
    const { sw } = await dummyLan(1);
    const port = await freePort();
    await configure(sw, [
      { op: 'insert', table: 'SSL', row: { private_key: pki.sw.key, certificate: pki.sw.cert, ca_cert: pki.controllerCa }, 'uuid-name': 'ssl' },
      { op: 'insert', table: 'Manager', row: { target: `pssl:${port}:127.0.0.1` }, 'uuid-name': 'mgr' },
      { op: 'update', table: 'Open_vSwitch', where: [], row: { ssl: ['named-uuid', 'ssl'], manager_options: ['named-uuid', 'mgr'] } },
    ]);
    const r = await run('ovs-vsctl', [`--db=ssl:127.0.0.1:${port}`, ...pkiArgs(pki.ct, pki.switchCa), '--timeout=10', 'list-br']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('br0\n');
  });
});
