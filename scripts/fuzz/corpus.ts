// The fuzzers' seed corpus (recorded by capture.ts from Debian's OVS tools and daemons), read
// whether this module runs from scripts/ (tests) or from dist/scripts/ (the fuzz command).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CORPUS_DIR = ['./corpus', '../../../scripts/fuzz/corpus'].map((p) => fileURLToPath(new URL(p, import.meta.url))).find((d) => existsSync(d));

function corpusPath(name: string): string {
  if (CORPUS_DIR === undefined) throw new Error('scripts/fuzz/corpus/ is missing: run `node dist/scripts/fuzz/capture.js` from the repository');
  return `${CORPUS_DIR}/${name}`;
}

/** The non-empty lines of corpus file `name`. */
export function corpusLines(name: string): string[] {
  return readFileSync(corpusPath(name), 'utf8').split('\n').filter((l) => l.trim() !== '');
}

export function corpusFile(name: string): Buffer {
  return readFileSync(corpusPath(name));
}
