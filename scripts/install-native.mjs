#!/usr/bin/env node
// npm runs this when it installs TVS (package.json's "install" script), and in a checkout at
// `npm ci`. A packed TVS carries a prebuilt addon, made by `npm pack` (scripts/prepack.mjs) on
// linux-x64, and the Rust sources it was built from. Keep the prebuilt addon when it loads in
// this Node on this machine (N-API keeps it loadable across Node versions); otherwise (another
// CPU, an older C library, a checkout not built yet) build it from the sources, as
// scripts/build-native.mjs does in a checkout, or say exactly what the build lacks.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const addonPath = join(nativeDir, 'tvs_datapath.node');

/** Why Node cannot use the addon at `path`, or undefined when it can. */
export function addonLoadError(path) {
  if (!existsSync(path)) return `${path} does not exist`;
  // In a child, so that an addon that does load is not held open by this process and one that
  // crashes as it loads cannot take the installer down without a word.
  const load = `const a = require(process.argv[1]);
if (typeof a.op_dp_open !== 'function') throw new Error('it exports no op_dp_open: not a TVS datapath addon');`;
  const child = spawnSync(process.execPath, ['-e', `try { ${load} } catch (e) { process.stderr.write(e.message); process.exit(1); }`, path], {
    encoding: 'utf8',
  });
  if (child.status === 0) return undefined;
  return child.stderr.trim() || `node exited with ${child.status ?? child.signal} while loading it`;
}

// What the build from sources needs: the first missing piece is named, with how to get it.
const MIN_RUST = [1, 70];
const RUST_ADVICE = `a Rust toolchain of ${MIN_RUST.join('.')} or newer (rustup's; Debian's rustc 1.63 is too old for the packaged crates)`;

/** The directory cargo takes crates from, offline: Debian's, as native/.cargo/config.toml says. */
function crateDirectory() {
  const config = readFileSync(join(nativeDir, '.cargo', 'config.toml'), 'utf8');
  const directory = /^\s*directory\s*=\s*"([^"]+)"/m.exec(config)?.[1];
  if (!directory) throw new Error(`${join(nativeDir, '.cargo', 'config.toml')} names no crate directory`);
  return directory;
}

/** What the build lacks ("cargo is not installed", ...), or undefined when it has everything. */
function missingForBuild() {
  const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
  if (cargo.error) return { what: 'cargo is not installed', fix: `install ${RUST_ADVICE}` };
  const [major, minor] = (/cargo (\d+)\.(\d+)/.exec(cargo.stdout) ?? []).slice(1).map(Number);
  if (major < MIN_RUST[0] || (major === MIN_RUST[0] && minor < MIN_RUST[1])) {
    return { what: `${cargo.stdout.trim()} is too old`, fix: `install ${RUST_ADVICE}` };
  }
  const crates = crateDirectory();
  const hasLibc = existsSync(crates) && readdirSync(crates).some((name) => /^libc-\d/.test(name));
  if (!hasLibc) {
    return {
      what: `Debian's librust-libc-dev is not installed (cargo builds offline and found no libc crate in ${crates})`,
      fix: 'apt-get install librust-libc-dev',
    };
  }
  return undefined;
}

function fail(lines) {
  process.stderr.write(lines.map((line, i) => (i === 0 ? `tvs: ${line}` : `     ${line}`)).join('\n') + '\n');
  process.exit(1);
}

function main() {
  const loadError = addonLoadError(addonPath);
  if (loadError === undefined) {
    console.log('tvs: the datapath addon native/tvs_datapath.node loads here; using it');
    return;
  }
  const unusable = `the datapath addon native/tvs_datapath.node is not usable here (${loadError})`;
  const missing = missingForBuild();
  if (missing) {
    fail([
      `cannot build the datapath addon: ${missing.what}.`,
      `As ${unusable}, TVS builds it from its Rust sources, which needs cargo (Rust ${MIN_RUST.join('.')} or newer) and Debian's librust-libc-dev.`,
      `Fix: ${missing.fix}, then run \`npm rebuild tvs\`.`,
    ]);
  }
  console.log(`tvs: ${unusable}; building it from its Rust sources (cargo, offline)`);
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], {
    stdio: 'inherit',
    env: { ...process.env, TVS_NATIVE_PROFILE: 'release' },
  });
  if (build.status !== 0) fail(['cargo could not build the datapath addon (its errors are above).']);
  const builtError = addonLoadError(addonPath);
  if (builtError !== undefined) fail([`the datapath addon built from sources does not load: ${builtError}`]);
}

// Run when npm runs this file; scripts/prepack.mjs imports it for addonLoadError alone.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) main();
