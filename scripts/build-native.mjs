#!/usr/bin/env node
// Builds the Rust addon and copies it where src/datapath/addon.ts loads it.
// A plain `cargo build` is all it takes: the crate declares N-API by hand, so
// no napi-rs tooling is involved, and cargo resolves crates offline from
// Debian's packages (native/.cargo/config.toml).
import { execFileSync } from 'node:child_process';
import { copyFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');
const profile = process.env.TVS_NATIVE_PROFILE === 'debug' ? 'debug' : 'release';
execFileSync('cargo', ['build', '--quiet', ...(profile === 'release' ? ['--release'] : [])], {
  cwd: nativeDir,
  stdio: 'inherit',
});
// Copy then rename, so a running process never sees a half-written addon.
const target = join(nativeDir, 'tvs_datapath.node');
copyFileSync(join(nativeDir, 'target', profile, 'libtvs_datapath.so'), `${target}.tmp`);
renameSync(`${target}.tmp`, target);
console.log(`built ${target} (${profile})`);
