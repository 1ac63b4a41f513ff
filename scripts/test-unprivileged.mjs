#!/usr/bin/env node
// npm run test:unprivileged: the tests that need no root (test/unit and
// test/dummy: the whole switch on dummy ports), run as a user with no
// privilege, so that passing shows they really need none.
//
// Run by root, it drops to nobody (uid and gid 65534, no groups) with
// setpriv. nobody gets a home and a TVS_RUNDIR of its own in a temporary
// directory, and vitest loads its config without bundling it into
// node_modules. If nobody cannot read the checkout (it sits under a
// directory such as /root that others may not enter), the checkout is
// copied into that temporary directory, without .git and native/target,
// and the tests run there. Run by another user, it runs the tests as that
// user.
//
// Arguments go to vitest; test paths among them replace the default ones
// (so write vitest's options with their values as --option=value).
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const NOBODY = 65534;
const DEFAULT_PATHS = ['test/unit', 'test/dummy'];
const checkout = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What the tests read: sources, tests, the built commands and addon, vitest. */
const NEEDED = ['package.json', 'vitest.config.ts', 'tsconfig.json', 'node_modules/vitest/vitest.mjs', 'dist/src/cli/tvs-vswitchd.js', 'native/tvs_datapath.node', 'src', 'test'];

const args = process.argv.slice(2);
const paths = args.some((a) => !a.startsWith('-')) ? [] : DEFAULT_PATHS;
const asRoot = process.getuid?.() === 0;

const scratch = mkdtempSync(join(tmpdir(), 'tvs-unprivileged-'));
const home = join(scratch, 'home');
const rundir = join(scratch, 'run');
mkdirSync(home);
mkdirSync(rundir);

let cwd = checkout;
if (asRoot) {
  for (const dir of [scratch, home, rundir]) chownSync(dir, NOBODY, NOBODY);
  if (!readableByNobody(checkout)) {
    cwd = join(scratch, 'checkout');
    console.log(`test:unprivileged: nobody cannot read ${checkout}; running the tests from a copy in ${cwd}`);
    cpSync(checkout, cwd, {
      recursive: true,
      filter: (src) => !['.git', join('native', 'target')].includes(relative(checkout, src)),
    });
    // Readable (and its directories enterable) by everyone, whatever the checkout's own modes.
    spawnSync('chmod', ['-R', 'a+rX', cwd], { stdio: 'inherit' });
  }
  if (spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '--version']).status !== 0) {
    fail(`nobody cannot run ${process.execPath}: install node where every user can run it (e.g. Debian's or NodeSource's package)`);
  }
}

const vitest = [process.execPath, join(cwd, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--configLoader', 'runner', ...paths, ...args];
const command = asRoot ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...vitest] : vitest;
console.log(`test:unprivileged: ${paths.concat(args).join(' ')} as ${asRoot ? 'nobody (uid 65534)' : `uid ${process.getuid?.()}`}`);
const child = spawn(command[0], command.slice(1), {
  cwd,
  stdio: 'inherit',
  env: { ...process.env, ...(asRoot ? { HOME: home } : {}), TVS_RUNDIR: rundir },
});
// Ctrl-C reaches vitest too: wait for it to finish, then clean up.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('error', (e) => fail(`cannot run ${command[0]}: ${e.message}`));
child.on('exit', (code, signal) => {
  rmSync(scratch, { recursive: true, force: true });
  process.exit(code ?? (signal ? 1 : 0));
});

function fail(message) {
  console.error(`test:unprivileged: ${message}`);
  rmSync(scratch, { recursive: true, force: true });
  process.exit(1);
}

/** Whether nobody can read every file the tests need in `dir` (and enter the directories on the way). */
function readableByNobody(dir) {
  const probe = NEEDED.map((p) => ['-r', join(dir, p)]).flatMap((t, i) => (i ? ['-a', ...t] : t));
  const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'test', ...probe]);
  return r.status === 0;
}
