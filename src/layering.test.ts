/**
 * Import rules this layout depends on, read from the source files themselves:
 *   - the CLI is the top: nothing outside src/cli/ (but src/main.ts) imports it, so the DNS
 *     layer, the admin API and the cluster code never depend on flags or help text;
 *   - the node's wiring (src/node/) is used by the CLI (and tests), and by nothing below it;
 *   - the state layer owns snapshots and knows nothing of the DNS layer built on them (dns/cache.ts
 *     keeps each snapshot's answer cache), apart from the protocol primitives (names, types, wire
 *     format) that every layer uses;
 *   - src/proto/ (protocol-level primitives: the duration grammar, the presentation tokenizer)
 *     imports nothing else of src/, so every layer may use it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const srcDir = path.resolve(import.meta.dirname);

/** Every non-test .ts file under src/, relative to it, with the src-relative paths it imports. */
function importsOf(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        const text = fs.readFileSync(full, 'utf8');
        const specs = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)].map((m) => m[1]!);
        const rel = path.relative(srcDir, full);
        out.set(rel, specs.map((s) => path.relative(srcDir, path.resolve(path.dirname(full), s)).replace(/\.js$/, '.ts')));
      }
    }
  };
  walk(srcDir);
  return out;
}

const PRIMITIVES = new Set(['proto/name.ts', 'proto/types.ts', 'proto/wire.ts']);

describe('layering', () => {
  const graph = importsOf();

  it('reads the imports of every module', () => {
    expect(graph.get('dns/pipeline.ts')).toContain('dns/transfer.ts');
    expect(graph.get('cli/serve.ts')).toContain('node/node.ts');
  });

  it('nothing below the CLI imports src/cli/', () => {
    const bad = [...graph].flatMap(([file, deps]) => (file.startsWith('cli/') || file === 'main.ts' ? [] : deps.filter((d) => d.startsWith('cli/')).map((d) => `${file} → ${d}`)));
    expect(bad).toEqual([]);
  });

  it('only the CLI imports the node wiring (src/node/)', () => {
    const bad = [...graph].flatMap(([file, deps]) => (file.startsWith('cli/') || file.startsWith('node/') ? [] : deps.filter((d) => d.startsWith('node/')).map((d) => `${file} → ${d}`)));
    expect(bad).toEqual([]);
  });

  it('src/proto/ imports nothing else of src/', () => {
    const bad = [...graph].flatMap(([file, deps]) => (file.startsWith('proto/') ? deps.filter((d) => !d.startsWith('proto/')).map((d) => `${file} → ${d}`) : []));
    expect(bad).toEqual([]);
    expect([...graph.keys()].some((f) => f.startsWith('proto/'))).toBe(true);
  });

  it('src/state/ imports nothing of the DNS layer but the protocol primitives', () => {
    const bad = [...graph].flatMap(([file, deps]) => (file.startsWith('state/') ? deps.filter((d) => d.startsWith('dns/') && !PRIMITIVES.has(d)).map((d) => `${file} → ${d}`) : []));
    expect(bad).toEqual([]);
  });
});
