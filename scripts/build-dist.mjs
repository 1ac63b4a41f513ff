#!/usr/bin/env node
// Compiles the TypeScript into dist/ (`npm run build:ts`; `npm pack` runs it with --clean, into
// an empty dist/, so that the output of a source since deleted is not shipped), and adds the
// one declaration file tsc cannot emit: dist/native/index.d.ts. The declarations under dist/src/
// import the addon's types as `../../native/index.js`, which from there is dist/native/, while
// the types are native/index.d.ts, written by hand beside the Rust crate; this file passes them
// on, so that a program importing 'tvs' gets the addon's types instead of `any`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

if (process.argv.includes('--clean')) rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compile = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
if (compile.status !== 0) process.exit(compile.status ?? 1);
mkdirSync(join(dist, 'native'), { recursive: true });
writeFileSync(
  join(dist, 'native', 'index.d.ts'),
  "// The addon's types, for the declarations under dist/src/ (written by scripts/build-dist.mjs).\nexport * from '../../native/index.js';\n",
);
