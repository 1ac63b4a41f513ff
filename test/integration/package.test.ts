// TVS as another project gets it: the tarball `npm pack` makes (prepack builds dist/ and the
// prebuilt addon) from a copy of the checkout, installed into a scratch project with no network, type-checked by that
// project's own tsc and run: a datapath with dummy ports, and a whole switch on dummy hosts.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHECKOUT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Ran {
  code: number | string | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a command the test runs: its own, without the npm_* variables an outer
 * `npm test` sets (npm_config_local_prefix among them would point an inner npm at the checkout).
 */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string, env = cleanEnv()): Promise<Ran> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd, env, timeout: 150_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      done({ code: error ? (error.code ?? error.signal ?? null) : 0, stdout, stderr });
    });
  });
}

async function mustRun(cmd: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<Ran> {
  const ran = await run(cmd, args, cwd, env);
  if (ran.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${String(ran.code)}:\n${ran.stdout}\n${ran.stderr}`);
  return ran;
}

/** Every .ts under `dir` but declaration files, relative to `base`. */
function typeScriptSources(dir: string, base: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return typeScriptSources(path, base);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [relative(base, path)] : [];
  });
}

// The program a user of the package writes. It type-checks only if the addon's types reach it
// (an unresolved import would make PortInfo `any`, and the first @ts-expect-error unused) and
// if the type checker, like Node, refuses an internal module.
const PROGRAM = `
import { Switch, type DummyHost, type SwitchOptions } from 'tvs';
import { Datapath, decodeActions, decodeKey, exactMask, type PortInfo } from 'tvs/datapath';
import { listen, type OpenFlowSwitch } from 'tvs/controller';
// @ts-expect-error: the package's exports name no internal module
import type * as Xlate from 'tvs/dist/src/ofproto/xlate.js';

const frame = Buffer.from('02000000000202000000000108004500' + '00'.repeat(44), 'hex');
const dp = Datapath.open();
const a = dp.addPort({ type: 'dummy', name: 'a' }).port;
const b = dp.addPort({ type: 'dummy', name: 'b' }).port;
const portB: PortInfo = dp.port('b');
// @ts-expect-error: a port's name is a string
const nameAsNumber: number = portB.name;
dp.putFlow({ key: { in_port: a }, mask: exactMask(['in_port']), actions: [{ type: 'output', port: b }] });
dp.injectFrames(a, [frame]);
const [sent] = await dp.nextTransmitted(b, { count: 1 });
const [flow] = dp.dumpFlows();
const datapath = {
  forwarded: sent?.equals(frame),
  flowKey: decodeKey(flow!.key),
  flowActions: decodeActions(flow!.actions),
  portName: nameAsNumber,
};
dp.close();

// The whole switch on dummy ports: no root, no namespaces, no devices.
const options = { dummy: true } as const satisfies SwitchOptions;
const sw = await Switch.start(options);
let bridgePorts: string[];
let pingReplies: number;
try {
  const bridge = process.argv[2]!;
  await sw.addBridge(bridge);
  const h1: DummyHost = await sw.addHost(bridge, 'h1', { ip: '10.0.0.1/24' });
  await sw.addHost(bridge, 'h2', { ip: '10.0.0.2/24' });
  pingReplies = await h1.ping('10.0.0.2', { count: 2 });
  bridgePorts = sw.portStats(bridge).map((p) => p.name);
} finally {
  await sw.stop();
}
// A controller that listens and closes: the entry loads and its types reach the program.
const controller = await listen({ port: 0 });
const listening = controller.port > 0;
const switches: OpenFlowSwitch[] = [...controller.switches];
await controller.close();
console.log(JSON.stringify({ datapath, bridgePorts, pingReplies, controller: { listening, switches: switches.length } }));
`;

const STALE_OUTPUT = 'dist/src/module-since-deleted.js';

/**
 * A copy of the checkout to pack. Prepack rebuilds dist/ from empty, which must not pull it from
 * under the daemons other tests (or another suite) run out of the checkout's dist/. The copy keeps
 * mtimes and shares the checkout's cargo target, so the addon it builds is already up to date.
 */
function copyCheckout(to: string): void {
  const skipped = new Set(['.git', 'node_modules', 'dist', 'bench-results', 'fuzz-crashes', 'native/target']);
  cpSync(CHECKOUT, to, { recursive: true, preserveTimestamps: true, filter: (src) => !skipped.has(relative(CHECKOUT, src)) });
  symlinkSync(join(CHECKOUT, 'node_modules'), join(to, 'node_modules'));
  symlinkSync(join(CHECKOUT, 'native/target'), join(to, 'native/target'));
}

let work: string;
let source: string;
let tarball: string;
let packed: string[];
let app: string;
let installLog: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'tvs-pkg-'));
  source = join(work, 'checkout');
  copyCheckout(source);
  // The output of a source since deleted, as an old build leaves it: packing must not ship it.
  mkdirSync(join(source, 'dist/src'), { recursive: true });
  writeFileSync(join(source, STALE_OUTPUT), 'export {};\n');
  const pack = await mustRun('npm', ['pack', '--json', '--pack-destination', work], source);
  const [report] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, report!.filename);
  packed = report!.files.map((f) => f.path);

  app = join(work, 'app');
  mkdirSync(app);
  // allowScripts: npm versions that block dependencies' install scripts run this one.
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'uses-tvs', private: true, type: 'module', allowScripts: { tvs: true } }));
  // --offline with an empty cache and a registry nobody answers on: anything the tarball
  // needed from the network would fail the install.
  const install = await mustRun(
    'npm',
    ['install', '--offline', '--cache', join(work, 'npm-cache'), '--registry', 'http://127.0.0.1:9/', '--no-audit', '--no-fund', '--foreground-scripts', tarball],
    app,
  );
  installLog = install.stdout + install.stderr;
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('ships dist/ compiled at pack time from exactly the sources in src/, without source maps', () => {
    expect(existsSync(join(source, STALE_OUTPUT))).toBe(false);
    const sources = typeScriptSources(join(CHECKOUT, 'src'), CHECKOUT).map((ts) => `dist/${ts.replace(/\.ts$/, '.js')}`);
    const compiled = packed.filter((p) => p.startsWith('dist/src/') && p.endsWith('.js'));
    expect(compiled.sort()).toEqual(sources.sort());
    expect(packed).toContain('dist/src/public/switch.d.ts');
    expect(packed).toContain('dist/src/public/datapath.d.ts');
    expect(packed).toContain('dist/src/public/controller.d.ts');
    expect(packed.filter((p) => p.endsWith('.map'))).toEqual([]);
  });

  it('ships the prebuilt addon, its types and the Rust sources to rebuild it, and no tests, bench results or cargo target', () => {
    for (const file of ['native/tvs_datapath.node', 'native/index.d.ts', 'dist/native/index.d.ts', 'native/Cargo.toml', 'native/Cargo.lock', 'native/.cargo/config.toml', 'native/src/lib.rs', 'scripts/build-native.mjs', 'scripts/install-native.mjs']) {
      expect(packed).toContain(file);
    }
    const shipped = /^(package\.json|README\.md|dist\/src\/.+\.(js|d\.ts)|dist\/native\/index\.d\.ts|native\/(index\.d\.ts|tvs_datapath\.node|Cargo\.(toml|lock)|\.cargo\/config\.toml|src\/.+\.rs)|scripts\/(build|install)-native\.mjs|src\/ovsdb\/schemas\/vswitch\.ovsschema)$/;
    expect(packed.filter((p) => !shipped.test(p))).toEqual([]);
    expect(packed.filter((p) => /^(test|bench-results|native\/target|native\/src\/bin|dist\/scripts)\//.test(p))).toEqual([]);
  });

  it('installs from its tarball alone, with no dependency, and keeps the prebuilt addon', () => {
    expect(installLog).toContain('tvs: the datapath addon native/tvs_datapath.node loads here; using it');
    expect(readdirSync(join(app, 'node_modules')).sort()).toEqual(['.bin', '.package-lock.json', 'tvs']);
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/tvs/package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.dependencies).toBeUndefined();
    expect(existsSync(join(app, 'node_modules/tvs/native/target'))).toBe(false);
  });

  it("type-checks a program against 'tvs', 'tvs/datapath' and 'tvs/controller' with the project's own tsc, and runs it", async () => {
    // The project's own TypeScript and Node types, linked from the checkout rather than downloaded.
    mkdirSync(join(app, 'node_modules/@types'), { recursive: true });
    symlinkSync(join(CHECKOUT, 'node_modules/typescript'), join(app, 'node_modules/typescript'));
    symlinkSync(join(CHECKOUT, 'node_modules/@types/node'), join(app, 'node_modules/@types/node'));
    writeFileSync(join(app, 'main.ts'), PROGRAM);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, types: ['node'], outDir: 'out' },
        include: ['main.ts'],
      }),
    );
    await mustRun(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], app);

    const bridge = `tvpkg${process.pid % 100000}`;
    const { stdout } = await mustRun(process.execPath, ['out/main.js', bridge], app);
    const result = JSON.parse(stdout) as { datapath: Record<string, unknown>; bridgePorts: string[]; pingReplies: number; controller: unknown };
    expect(result.datapath).toEqual({
      forwarded: true,
      flowKey: { in_port: 1 },
      flowActions: [{ type: 'output', port: 2 }],
      portName: 'b',
    });
    expect(result.bridgePorts).toEqual([bridge, 'h1', 'h2']);
    expect(result.pingReplies).toBe(2);
    expect(result.controller).toEqual({ listening: true, switches: 0 });
  });

  it('refuses an internal module with ERR_PACKAGE_PATH_NOT_EXPORTED', async () => {
    const internal = await run(process.execPath, ['--input-type=module', '-e', "await import('tvs/dist/src/ofproto/xlate.js')"], app);
    expect(internal.code).not.toBe(0);
    expect(internal.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it("runs the commands through the installed package's bin links", async () => {
    const bin = join(app, 'node_modules/.bin');
    expect((await mustRun(join(bin, 'tvs-vsctl'), ['--version'], app)).stdout).toMatch(/^tvs-vsctl \(TVS\) /);
    const db = join(work, 'conf.db');
    await mustRun(join(bin, 'tvsdb-tool'), ['create', db], app);
    expect((await mustRun(join(bin, 'tvsdb-tool'), ['db-name', db], app)).stdout).toBe('Open_vSwitch\n');
  });
});

describe('the install script, where the prebuilt addon does not load', () => {
  /** A copy of the installed package whose addon is not one this machine can load, as if built for another. */
  function installedElsewhere(name: string): string {
    const pkg = join(work, name, 'node_modules/tvs');
    cpSync(join(app, 'node_modules/tvs'), pkg, { recursive: true });
    writeFileSync(join(pkg, 'native/tvs_datapath.node'), 'not an ELF object\n'.repeat(100));
    return pkg;
  }

  it('names cargo, and how to get it, when there is no Rust toolchain', async () => {
    const pkg = installedElsewhere('no-cargo');
    const emptyPath = join(work, 'no-cargo', 'bin');
    mkdirSync(emptyPath);
    const ran = await run(process.execPath, ['scripts/install-native.mjs'], pkg, cleanEnv({ PATH: emptyPath }));
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain('tvs: cannot build the datapath addon: cargo is not installed.');
    expect(ran.stderr).toContain('invalid ELF header');
    expect(ran.stderr).toContain('then run `npm rebuild tvs`');
  });

  it("names Debian's librust-libc-dev when cargo finds no libc crate", async () => {
    const pkg = installedElsewhere('no-libc');
    const noCrates = join(work, 'no-libc', 'crates');
    mkdirSync(noCrates);
    const config = join(pkg, 'native/.cargo/config.toml');
    writeFileSync(config, readFileSync(config, 'utf8').replace(/directory = ".*"/, `directory = "${noCrates}"`));
    const ran = await run(process.execPath, ['scripts/install-native.mjs'], pkg);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain(`Debian's librust-libc-dev is not installed (cargo builds offline and found no libc crate in ${noCrates})`);
    expect(ran.stderr).toContain('Fix: apt-get install librust-libc-dev');
  });

  it('builds the addon from the shipped Rust sources, and the datapath runs on it', async () => {
    const pkg = installedElsewhere('from-source');
    const ran = await mustRun(process.execPath, ['scripts/install-native.mjs'], pkg);
    expect(ran.stdout).toContain('is not usable here (');
    const check = "import { Datapath } from 'tvs/datapath'; const dp = Datapath.open(); console.log(dp.addPort({ type: 'dummy', name: 'a' }).port); dp.close();";
    expect((await mustRun(process.execPath, ['--input-type=module', '-e', check], dirname(dirname(pkg)))).stdout).toBe('1\n');
  });
});
