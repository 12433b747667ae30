/**
 * Every repository path a comment cites exists, so that a comment never points a reader at a file
 * that was moved, renamed or never written. Comments are read with the TypeScript parser (not by
 * pattern over the text, so strings and regular expressions do not count) from every .ts file in
 * src/, test/ and bench/.
 *
 * What counts as a citation:
 *   - a path from the repository root whose first folder is one of the root's folders
 *     (`src/proto/wire.ts`, `docs/health.md`, `test/support/tools.ts`, `deploy/...`);
 *   - a path relative to src/ whose first folder is one of src/'s folders (`proto/wire.ts`,
 *     `proto/rdata.ts`; `.js` may stand for the `.ts` source), as module headers write them;
 *   - a bare upper-case Markdown name (`README.md`), which means the file at the root.
 * A path that is part of a longer one (`/etc/meridian/zones/x.yaml`, a URL) is not a citation,
 * nor is one another project owns (`fastify's test/...`); a path with a `*` must match a file.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const srcDir = path.join(root, 'src');
const SCANNED = ['src', 'test', 'bench'];
const IGNORED_ROOT_DIRS = new Set(['node_modules', 'dist', '.git']);

const dirsOf = (dir: string): Set<string> =>
  new Set(
    fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !IGNORED_ROOT_DIRS.has(e.name))
      .map((e) => e.name),
  );
const rootDirs = dirsOf(root);
const srcDirs = dirsOf(srcDir);

/** Every .ts file below `dir`. */
function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

/** The text of every comment in a TypeScript file. */
function commentsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const seen = new Set<number>();
  const out: string[] = [];
  const take = (ranges: ts.CommentRange[] | undefined): void => {
    for (const r of ranges ?? []) {
      if (seen.has(r.pos)) continue;
      seen.add(r.pos);
      out.push(text.slice(r.pos, r.end));
    }
  };
  const visit = (node: ts.Node): void => {
    take(ts.getLeadingCommentRanges(text, node.getFullStart()));
    take(ts.getTrailingCommentRanges(text, node.getEnd()));
    for (const child of node.getChildren(source)) visit(child);
  };
  visit(source);
  return out;
}

/** A path-like word: folders and a file name with an extension, or a bare upper-case Markdown name. */
const CITATION = /(?<![\w./:@~-])((?:[\w.-]+\/)+[\w.*-]*\.(?:ts|js|mjs|md|json|ya?ml|html|sh)|[A-Z][A-Z_-]*\.md)(?![\w/-])/g;

/** Where a cited path is, or null when the text is not a citation of a repository file. */
function resolveCitation(cited: string): string | null {
  const first = cited.split('/')[0]!;
  if (!cited.includes('/')) return path.join(root, cited);
  if (first === '.' || first === '..') return null;
  if (rootDirs.has(first)) return path.join(root, cited);
  if (srcDirs.has(first)) return path.join(srcDir, cited);
  return null;
}

function exists(file: string): boolean {
  if (file.includes('*')) {
    const dir = path.dirname(file);
    const re = new RegExp(`^${path.basename(file).replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`);
    return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => re.test(f));
  }
  return fs.existsSync(file) || (file.endsWith('.js') && file.startsWith(srcDir) && fs.existsSync(file.replace(/\.js$/, '.ts')));
}

describe('paths cited in comments', () => {
  const citations: { where: string; cited: string; file: string }[] = [];
  for (const dir of SCANNED) {
    for (const file of tsFiles(path.join(root, dir))) {
      for (const comment of commentsOf(file)) {
        for (const m of comment.matchAll(CITATION)) {
          if (/\w's\s+$/.test(comment.slice(0, m.index))) continue; // another project's file
          const resolved = resolveCitation(m[1]!.replace(/\.$/, ''));
          if (resolved) citations.push({ where: path.relative(root, file), cited: m[1]!, file: resolved });
        }
      }
    }
  }

  it('finds the citations (in both forms)', () => {
    expect(citations.length).toBeGreaterThan(200);
    const whereCited = (c: string) => citations.filter((x) => x.cited === c).map((x) => x.where);
    expect(whereCited('proto/name.ts')).toContain('src/proto/rdata.ts');
    expect(whereCited('docs/health.md').length).toBeGreaterThan(0);
    expect(whereCited('test/support/source-cases.ts')).toContain('src/state/source.ts');
  });

  it('every cited path exists', () => {
    const missing = citations.filter((c) => !exists(c.file)).map((c) => `${c.where}: ${c.cited}`);
    expect(missing).toEqual([]);
  });

  it('catches a path that does not exist, in either form', () => {
    const cited = [...'see dns/axfr.ts, src/zone/build.ts and DESIGN.md; not /etc/zones/x.yaml'.matchAll(CITATION)].map((m) => m[1]!);
    expect(cited).toEqual(['dns/axfr.ts', 'src/zone/build.ts', 'DESIGN.md']);
    expect(cited.map((c) => exists(resolveCitation(c)!))).toEqual([false, false, false]);
    expect(exists(resolveCitation('proto/wire.js')!)).toBe(true);
  });
});
