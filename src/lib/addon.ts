// Loads the Rust addon once. Its exports are typed in native/index.d.ts.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Addon } from '../../native/index.js';

/** native/ relative to this file, from src/ (tests) or dist/src/ (built). */
function nativeDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'native', 'tvs_datapath.node');
    if (existsSync(candidate)) return dirname(candidate);
    dir = dirname(dir);
  }
  throw new Error(
    'the datapath addon native/tvs_datapath.node is missing: in a checkout, run `npm run build:native` (or scripts/setup); ' +
      'in a project that installed tvs, run `npm rebuild tvs`',
  );
}

let addon: Addon | undefined;

export function loadAddon(): Addon {
  if (!addon) {
    const require = createRequire(import.meta.url);
    addon = require(join(nativeDir(), 'tvs_datapath.node')) as Addon;
  }
  return addon;
}
