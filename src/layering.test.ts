/**
 * Import rules this layout depends on, read from the source files themselves.
 *
 * Every top-level folder and base file of src/ has a place in {@link LAYERS}, bottom first. A
 * module may import its own folder and anything in a layer strictly below its own; never a peer in
 * the same layer, never upward. So no two top-level folders import each other, and a folder's
 * layer says what it may use:
 *
 *   - proto/ (names, types, the wire codec, RDATA, the duration grammar, the presentation
 *     tokenizer) is the bottom: it imports nothing else of src/, so every layer may use it;
 *   - errors.ts, then the small base files (log, addresses, backoff);
 *   - validation/ (the Duration schema and the generic TypeBox validator that words failures);
 *   - checks/ (the check registry, its check types, the `checks:` schema and compiler);
 *   - policy/ (the policy registry, kinds, compiler and evaluation; the compiled targets —
 *     regions, pools, endpoints — and the health view policies read);
 *   - model/ (the whole zone document's schema, assembled from policy/ and checks/);
 *   - zone/ (zone files into zones), dnssec/ (keys and signing), then state/ (sources,
 *     snapshots, the zone store, the key store);
 *   - health/ (checkers, votes, status) and dns/ (the server and its answers), which do not
 *     import each other;
 *   - cluster/, drill/, admin/, node/ (the node's wiring), cli/, and main.ts on top.
 *
 * Besides the order: only the CLI imports the node wiring, and nothing below the CLI imports it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const srcDir = path.resolve(import.meta.dirname);

/** Bottom first. Entries in one row are peers: neither may import the other. */
const LAYERS: readonly (readonly string[])[] = [
  ['proto'],
  ['errors.ts'],
  ['log.ts', 'address.ts', 'backoff.ts'],
  ['validation'],
  ['checks'],
  ['policy'],
  ['model'],
  ['zone'],
  ['dnssec'],
  ['state'],
  ['health', 'dns'],
  ['cluster'],
  ['drill'],
  ['admin'],
  ['node'],
  ['cli'],
  ['main.ts'],
];

const RANK = new Map(LAYERS.flatMap((row, i) => row.map((entry) => [entry, i] as const)));

/** Every non-test .ts file under src/, relative to it, with the src-relative paths it imports. */
function importsOf(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        const text = fs.readFileSync(full, 'utf8');
        const specs = [
          ...[...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)].map((m) => m[1]!),
          // Side-effect and dynamic imports.
          ...[...text.matchAll(/\bimport\s*\(?\s*'(\.[^']+)'/g)].map((m) => m[1]!),
        ];
        const rel = path.relative(srcDir, full);
        out.set(
          rel,
          specs.map((s) => path.relative(srcDir, path.resolve(path.dirname(full), s)).replace(/\.js$/, '.ts')),
        );
      }
    }
  };
  walk(srcDir);
  return out;
}

/** The top-level folder or base file a src-relative path belongs to. */
function entryOf(rel: string): string {
  return rel.split(path.sep)[0]!;
}

describe('layering', () => {
  const graph = importsOf();

  it('reads the imports of every module', () => {
    expect(graph.get('dns/pipeline.ts')).toContain('dns/transfer.ts');
    expect(graph.get('cli/serve.ts')).toContain('node/node.ts');
    expect(graph.get('model/zone-schema.ts')).toContain('policy/schema.ts');
  });

  it('the layer table lists every top-level folder and base file of src/, and nothing else', () => {
    const present = fs
      .readdirSync(srcDir, { withFileTypes: true })
      .filter((e) => e.isDirectory() || (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')))
      .map((e) => e.name)
      .sort();
    expect([...RANK.keys()].sort()).toEqual(present);
    expect(RANK.size).toBe(LAYERS.flat().length); // no entry twice
  });

  it('every import between top-level folders goes down the layer table', () => {
    const bad = [...graph].flatMap(([file, deps]) => {
      const from = entryOf(file);
      return deps
        .filter((d) => entryOf(d) !== from)
        .filter((d) => {
          const to = RANK.get(entryOf(d));
          return to === undefined || to >= RANK.get(from)!;
        })
        .map((d) => `${file} → ${d}`);
    });
    expect(bad).toEqual([]);
  });

  it('so no two top-level folders import each other', () => {
    const edges = new Set([...graph].flatMap(([file, deps]) => deps.filter((d) => entryOf(d) !== entryOf(file)).map((d) => `${entryOf(file)}→${entryOf(d)}`)));
    const mutual = [...edges].filter((e) => edges.has(e.split('→').reverse().join('→')));
    expect(mutual).toEqual([]);
  });

  it('nothing below the CLI imports src/cli/', () => {
    const bad = [...graph].flatMap(([file, deps]) =>
      file.startsWith('cli/') || file === 'main.ts' ? [] : deps.filter((d) => d.startsWith('cli/')).map((d) => `${file} → ${d}`),
    );
    expect(bad).toEqual([]);
  });

  it('only the CLI imports the node wiring (src/node/)', () => {
    const bad = [...graph].flatMap(([file, deps]) =>
      file.startsWith('cli/') || file.startsWith('node/') ? [] : deps.filter((d) => d.startsWith('node/')).map((d) => `${file} → ${d}`),
    );
    expect(bad).toEqual([]);
  });

  it('src/proto/ imports nothing else of src/', () => {
    const bad = [...graph].flatMap(([file, deps]) =>
      file.startsWith('proto/') ? deps.filter((d) => !d.startsWith('proto/')).map((d) => `${file} → ${d}`) : [],
    );
    expect(bad).toEqual([]);
    for (const f of ['proto/name.ts', 'proto/types.ts', 'proto/wire.ts', 'proto/rdata.ts', 'proto/duration.ts', 'proto/presentation.ts'])
      expect(graph.has(f)).toBe(true);
  });

  it('src/state/ imports nothing of the DNS layer (dns/cache.ts keeps each snapshot’s answer cache)', () => {
    const bad = [...graph].flatMap(([file, deps]) => (file.startsWith('state/') ? deps.filter((d) => d.startsWith('dns/')).map((d) => `${file} → ${d}`) : []));
    expect(bad).toEqual([]);
  });
});
