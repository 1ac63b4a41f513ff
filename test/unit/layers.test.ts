// The directories of src/ depend on each other one way only (the layering in the README's
// architecture section), read from the import statements of every source file.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module a file imports or re-exports, statically or with import(), as TypeScript reads them. */
function importedSpecifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** The top-level directory of src/ a path is in ('' for files outside src/). */
function srcDir(path: string): string {
  const rel = relative(SRC, path);
  return rel.startsWith('..') || !rel.includes('/') ? '' : rel.split('/')[0]!;
}

interface Import {
  file: string;
  from: string;
  to: string;
}

/** Imports that cross from one directory of src/ into another. */
function crossDirectoryImports(): Import[] {
  const out: Import[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const spec of importedSpecifiers(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const from = srcDir(file);
      const to = srcDir(resolve(dirname(file), spec));
      if (to && to !== from) out.push({ file: relative(SRC, file), from, to });
    }
  }
  return out;
}

/** A cycle in the directory graph, as a path that returns to its start, or undefined. */
function findCycle(edges: readonly Import[]): string[] | undefined {
  const next = new Map<string, Set<string>>();
  for (const e of edges) next.set(e.from, (next.get(e.from) ?? new Set()).add(e.to));
  const done = new Set<string>();
  const visit = (dir: string, path: string[]): string[] | undefined => {
    const at = path.indexOf(dir);
    if (at >= 0) return [...path.slice(at), dir];
    if (done.has(dir)) return undefined;
    for (const to of next.get(dir) ?? []) {
      const cycle = visit(to, [...path, dir]);
      if (cycle) return cycle;
    }
    done.add(dir);
    return undefined;
  };
  for (const dir of next.keys()) {
    const cycle = visit(dir, []);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('src/ layering', () => {
  const imports = crossDirectoryImports();

  it('reads the imports it checks (openflow builds on ofproto, the daemon on both)', () => {
    const edges = new Set(imports.map((i) => `${i.from} -> ${i.to}`));
    expect(edges).toContain('openflow -> ofproto');
    expect(edges).toContain('vswitchd -> ofproto');
    expect(edges).toContain('vswitchd -> openflow');
  });

  it('keeps ofproto free of the OpenFlow protocol and the command-line tools', () => {
    const upward = imports.filter((i) => i.from === 'ofproto' && (i.to === 'openflow' || i.to === 'cli'));
    expect(upward.map((i) => `${i.file} imports ${i.to}/`)).toEqual([]);
  });

  it('has no import cycle between directories', () => {
    const cycle = findCycle(imports);
    const witnesses = cycle?.slice(1).map((to, k) => imports.find((i) => i.from === cycle[k] && i.to === to)!.file);
    expect(cycle && `${cycle.join(' -> ')} (through ${witnesses!.join(', ')})`).toBeUndefined();
  });

  it('finds a cycle when there is one, and none in a chain', () => {
    const edge = (from: string, to: string): Import => ({ file: `${from}/x.ts`, from, to });
    expect(findCycle([edge('a', 'b'), edge('b', 'c'), edge('c', 'b')])).toEqual(['b', 'c', 'b']);
    expect(findCycle([edge('a', 'b'), edge('b', 'c'), edge('a', 'c')])).toBeUndefined();
  });
});
