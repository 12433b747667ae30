/**
 * `npm test`'s preflight (scripts/preflight.mjs, the `pretest` script): on a machine that lacks
 * a tool the suite drives, it stops at once with the one apt-get line that installs exactly what
 * is missing. Run as a real process with a PATH that hides tools; its tool → package table is
 * checked against dpkg's own record of which package installed each tool.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/tools.js';

const run = promisify(execFile);
const SCRIPT = path.join(repoRoot, 'scripts/preflight.mjs');
const SBIN = ['/usr/sbin', '/sbin'];

/** Runs the preflight with this PATH; never throws on a non-zero exit. */
async function preflight(pathVar: string, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SCRIPT, ...args], { env: { ...process.env, PATH: pathVar } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function table(): Promise<{ tool: string; pkg: string }[]> {
  const { stdout } = await preflight(process.env.PATH ?? '', ['--list']);
  return stdout
    .trim()
    .split('\n')
    .map((l) => {
      const [tool, pkg] = l.split(' ') as [string, string];
      return { tool, pkg };
    });
}

function where(tool: string, dirs: string[]): string | undefined {
  return dirs.map((d) => path.join(d, tool)).find((p) => fs.existsSync(p));
}

describe('npm test preflight', () => {
  it('passes silently where every tool is installed', async () => {
    const r = await preflight(process.env.PATH ?? '');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('with tools hidden from PATH, stops with exit 1 and one apt-get line naming exactly the missing packages', async () => {
    const tools = await table();
    expect(tools.map((t) => t.tool)).toEqual(expect.arrayContaining(['dig', 'kdig', 'unbound', 'named', 'etcd', 'etcdctl', 'chromium', 'openssl']));
    // A PATH with only dig and etcd on it (links to the real ones).
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-preflight-'));
    const fullPath = (process.env.PATH ?? '').split(path.delimiter);
    for (const t of ['dig', 'etcd']) fs.symlinkSync(where(t, fullPath)!, path.join(bin, t));
    const r = await preflight(bin);
    expect(r.code).toBe(1);
    // /usr/sbin and /sbin are searched too (unbound and named live there on Debian).
    const missing = tools.filter((t) => !['dig', 'etcd'].includes(t.tool) && !where(t.tool, SBIN));
    expect(missing.length).toBeGreaterThan(0);
    const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
    const lines = r.stderr.split('\n').filter((l) => l.includes('apt-get install'));
    expect(lines).toEqual([
      `  ${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${[...new Set(missing.map((t) => t.pkg))].join(' ')}`,
    ]);
    for (const t of missing) expect(r.stderr).toContain(`${t.tool} (`);
    expect(r.stderr).not.toMatch(/\bdig \(/);
    // Nothing was built or run after it: the message is all there is.
    expect(r.stdout).toBe('');
  });

  it('names the Debian package that really installs each tool (dpkg -S)', async () => {
    const fullPath = [...(process.env.PATH ?? '').split(path.delimiter), ...SBIN];
    for (const { tool, pkg } of await table()) {
      const file = fs.realpathSync(where(tool, fullPath)!);
      const { stdout } = await run('dpkg', ['-S', file]);
      expect(
        stdout
          .split(':')[0]!
          .split(',')
          .map((s) => s.trim()),
        tool,
      ).toContain(pkg);
    }
  });

  it('knows which Node versions package.json supports', async () => {
    const engines = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe('>=20.19 <21 || >=22.12'); // the ranges below
    const cases: [string, boolean][] = [
      ['18.20.4', false],
      ['20.18.3', false],
      ['20.19.0', true],
      ['20.20.2', true],
      ['21.7.3', false],
      ['22.11.0', false],
      ['22.12.0', true],
      ['24.0.0', true],
      ['24.22.3', true],
    ];
    for (const [v, ok] of cases) expect((await preflight(process.env.PATH ?? '', ['--check-node', v])).stdout.trim(), v).toBe(ok ? 'supported' : 'unsupported');
    expect((await preflight(process.env.PATH ?? '', ['--check-node', process.versions.node])).code).toBe(0);
  });

  it('is what `npm test` runs first, before the build', () => {
    const scripts = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['pretest']).toMatch(/^node scripts\/preflight\.mjs && npm run build$/);
    expect(scripts['setup']).toBe('bash scripts/setup-debian.sh');
    expect(fs.readFileSync(path.join(repoRoot, 'scripts/setup-debian.sh'), 'utf8')).toContain('$(node scripts/preflight.mjs --packages)');
  });
});
