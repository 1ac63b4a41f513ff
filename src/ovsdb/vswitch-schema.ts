// Where our Open_vSwitch schema file lives, whether this module runs from src/ (tests) or from
// dist/src/ (the built tools): tsc does not copy non-TypeScript files into dist.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function vswitchSchemaPath(): string {
  const candidates = ['./schemas/vswitch.ovsschema', '../../../src/ovsdb/schemas/vswitch.ovsschema'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`vswitch.ovsschema not found (looked in ${candidates.join(', ')})`);
  return found;
}
