// The README's first command runs the demo: it must work and clean up.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { run } from '../../src/lib/netns.js';

const TVS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'cli', 'tvs.js');

it('tvs demo pings across three hosts, shows the switch, and removes what it made', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [TVS, 'demo', '--seconds', '1'], { timeout: 60_000 });
  expect(stdout).toContain('10.0.0.1 -> 10.0.0.2: 3/3 replies');
  expect(stdout).toContain('10.0.0.1 -> 10.0.0.3: 3/3 replies');
  expect(stdout).toMatch(/MAC table \(fdb\/show br0\)/);
  expect(stdout).toMatch(/datapath flows \(hit:\d+/);
  expect(await run('ip', ['netns', 'list'])).not.toMatch(/tvs-sw-/);
});
