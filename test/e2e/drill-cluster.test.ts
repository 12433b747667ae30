/**
 * A live drill of the shipped zone on a three-node cluster (real etcd, real `meridian serve
 * --etcd` processes): `meridian drill run --region eu-west` on one node drains the region on
 * every node through etcd, and every node's answers are judged against the preview's candidates.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasEtcd, startEtcd, type TestEtcd } from '../support/etcd.js';
import { repoRoot, spawnMeridian, tempZones, waitFor, type MeridianProcess } from '../support/tools.js';

const run = promisify(execFile);
let etcd: TestEtcd;
const procs: ChildProcess[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  if (!hasEtcd) throw new Error('etcd-server is not installed (.ci/run installs it)');
  etcd = await startEtcd();
}, 30_000);
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await etcd?.destroy();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const meridian = (args: string[]) =>
  run(process.execPath, [path.join(repoRoot, 'dist/main.js'), ...args])
    .then((r) => ({ code: 0, out: r.stdout + r.stderr }))
    .catch((e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }));

describe('a live drill of the shipped zone on a three-node cluster', () => {
  it('passes on every node: each node drops eu-west, answers only predicted candidates, and takes it back', async () => {
    const prefix = `/drill-cl-${process.pid}`;
    const dir = tempZones();
    dirs.push(dir);
    const imported = await meridian(['cluster', 'import', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', dir]);
    expect(imported.code, imported.out).toBe(0);
    const nodes: MeridianProcess[] = [];
    for (const [id, region] of [
      ['n1', 'eu-west'],
      ['n2', 'us-east'],
      ['n3', 'ap-southeast'],
    ] as const) {
      const n = await spawnMeridian(['--etcd', etcd.url, '--etcd-prefix', prefix, '--node-id', id, '--region', region, '--lease-ttl', '5', '--no-checks']);
      procs.push(n.child);
      nodes.push(n);
    }
    const api = `http://127.0.0.1:${nodes[0]!.adminPort}`;
    await waitFor(async () => ((await (await fetch(`${api}/v1/nodes`)).json()) as { nodes: unknown[] }).nodes.length === 3 || null, 15_000);
    const pv = await meridian(['drill', '--api', api, 'preview', '--region', 'eu-west']);
    expect(pv.code, pv.out).toBe(0);
    const r = await meridian(['drill', '--api', api, 'run', '--region', 'eu-west', '--for', '6s', '--reason', 'cluster e2e']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/pass\s+predictions\s+\d+ answers for \d+ record × vantage pairs on all 3 nodes were all predicted candidates/);
    const id = /^drill (\S+):/.exec(r.out)![1]!;
    const report = (await (await fetch(`${api}/v1/drills/${id}`)).json()) as {
      nodes: { node: string; drained_after_ms: number | null; restored_after_ms: number | null }[];
      checks: { rule: string; pass: boolean; detail: string }[];
      observations: { name: string; country: string; matches_prediction: boolean; nodes: { node: string; samples: number; unexpected: number }[] }[];
      violations: unknown[];
    };
    expect(report.nodes.map((n) => n.node)).toEqual(expect.arrayContaining(['n2', 'n3']));
    for (const c of report.checks) expect(c.pass, `${c.rule}: ${c.detail}`).toBe(true);
    expect(report.violations).toEqual([]);
    for (const o of report.observations) {
      expect(o.matches_prediction, `${o.name} from ${o.country}`).toBe(true);
      // Judged on every node, not only on the one that ran the drill.
      expect(o.nodes).toHaveLength(3);
      for (const n of o.nodes) {
        expect(n.samples, `${o.name} from ${o.country} on ${n.node}`).toBeGreaterThan(0);
        expect(n.unexpected).toBe(0);
      }
    }
  }, 90_000);
});
