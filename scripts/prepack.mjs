#!/usr/bin/env node
// `npm pack` and `npm publish` run this first (package.json's "prepack"): it builds what the
// package ships and the checkout does not keep, so a tarball never carries a stale dist/ or a
// debug addon.
//  - native/tvs_datapath.node, release, for this machine (linux-x64 for the packages we
//    publish): the prebuilt addon scripts/install-native.mjs keeps wherever it loads. It is
//    loaded once here, as the installer will, so a broken one is never packed.
//  - dist/, from empty (scripts/build-dist.mjs --clean).
// Everything this prints goes to stderr, so that `npm pack --json` prints only its JSON.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonLoadError } from './install-native.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(what, script, args, env = process.env) {
  const child = spawnSync(process.execPath, [join(root, 'scripts', script), ...args], {
    cwd: root,
    stdio: ['ignore', process.stderr.fd, process.stderr.fd],
    env,
  });
  if (child.status !== 0) {
    console.error(`prepack: ${what} failed`);
    process.exit(1);
  }
}

run('building the datapath addon', 'build-native.mjs', [], { ...process.env, TVS_NATIVE_PROFILE: 'release' });
const loadError = addonLoadError(join(root, 'native', 'tvs_datapath.node'));
if (loadError !== undefined) {
  console.error(`prepack: the datapath addon just built does not load: ${loadError}`);
  process.exit(1);
}
console.error(`prepack: the prebuilt addon is for ${process.platform}-${process.arch}`);
run('compiling the TypeScript', 'build-dist.mjs', ['--clean']);
