/**
 * Drills on the shipped zone (zones/gslb.example.org.yaml), as README.md and docs/operations.md
 * tell a new user to run them, against a real `meridian serve`:
 *   - the preview compares candidate answers with their shares: no false changes (pools,
 *     multivalue sets, a hostname pool answered as one CNAME, weighted picks), shares that sum to
 *     1, the weights written in the zone (3:1, 90:10), and a region holding none of a record's
 *     endpoints changes nothing for it;
 *   - `meridian drill preview` exits 0 when the safety rules pass and 1 when one fails;
 *   - `meridian drill run` passes for eu-west and for eu-central (weighted answers judged as
 *     candidates, not one roll of the dice);
 *   - a drill whose answers leave the predicted set fails, naming the answer, node and vantage point;
 *   - a drill whose answers stay in the set but whose shares do not fails too.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ask } from '../support/dns-client.js';
import { repoRoot, shippedZones, spawnMeridian, tempZones, waitFor, type MeridianProcess } from '../support/tools.js';
import { bearer, localToken } from '../support/api.js';
import type { Candidate, VantageImpact } from '../../src/drill/preview.js';

const ORIGIN = 'gslb.example.org';
const doc = YAML.parse(fs.readFileSync(path.join(shippedZones, `${ORIGIN}.yaml`), 'utf8')) as {
  regions: { id: string }[];
  pools: { id: string; endpoints: { region: string }[] }[];
  policies: { name: string; type: string; policy: unknown; on_all_down?: unknown }[];
};

/** Regions holding an endpoint a record can answer with (pools anywhere in its tree, `use:` followed). */
function regionsOf(name: string, type: string, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  const poolRegions = new Map(doc.pools.map((p) => [p.id, p.endpoints.map((e) => e.region)]));
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) return x.forEach(walk);
    if (!x || typeof x !== 'object') return;
    for (const [k, v] of Object.entries(x)) {
      if (k === 'pool' && typeof v === 'string') for (const r of poolRegions.get(v) ?? []) out.add(r);
      else if (k === 'use' && typeof v === 'string' && !seen.has(v)) {
        seen.add(v);
        for (const r of regionsOf(v, type, seen)) out.add(r);
      } else walk(v);
    }
  };
  for (const p of doc.policies.filter((p) => p.name === name && p.type === type)) walk([p.policy, p.on_all_down]);
  return out;
}

/** The preview's shapes, as the API sends them (drill/preview.ts). */
type Vantage = VantageImpact;
interface Preview {
  passed: boolean;
  records: { name: string; type: string; vantage: Vantage[] }[];
  capacity: { region: string; usable_before: number; usable_after: number }[];
  safety: { rule: string; pass: boolean; detail: string }[];
  changed_answers: number;
}

const shareOf = (list: Candidate[]): Map<string, number> => new Map(list.map((c) => [c.answer.join(' '), c.share]));
const sum = (list: Candidate[]): number => list.reduce((n, c) => n + c.share, 0);
const short = (name: string): string => name.replace(`.${ORIGIN}.`, '');

const dirs: string[] = [];
const procs: MeridianProcess[] = [];
let node: MeridianProcess;

async function serve(): Promise<MeridianProcess> {
  const dir = tempZones();
  dirs.push(dir);
  const p = await spawnMeridian(['--zones', dir, '--no-checks']);
  procs.push(p);
  return p;
}

async function api(p: MeridianProcess, method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> {
  // No token configured: writes (a preview is a POST) carry the token the node made for itself.
  const res = await fetch(`http://127.0.0.1:${p.adminPort}${url}`, {
    method,
    headers: { ...bearer(localToken(p.tokenFile)), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json().catch(() => undefined) };
}

function drill(p: MeridianProcess, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [path.join(repoRoot, 'dist/main.js'), 'drill', '--api', `http://127.0.0.1:${p.adminPort}`, ...args])
    .then((r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }))
    .catch((e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));
}

beforeAll(async () => {
  node = await serve();
}, 30_000);
afterAll(() => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('drill preview on the shipped zone', () => {
  it('compares candidate answers and shares: no false changes, shares sum to 1, the weights of the zone', async () => {
    const r = await api(node, 'POST', '/v1/drills', { region: 'eu-west', mode: 'preview' });
    expect(r.status).toBe(200);
    const pv = r.json as Preview;
    expect(pv.passed).toBe(true);
    for (const c of pv.safety) expect(c.pass, `${c.rule}: ${c.detail}`).toBe(true);
    let changed = 0;
    for (const rec of pv.records) {
      for (const v of rec.vantage) {
        expect(v.exact).toBe(true);
        expect(sum(v.before), `${rec.name} from ${v.country}`).toBeCloseTo(1, 9);
        expect(sum(v.after), `${rec.name} from ${v.country}`).toBeCloseTo(1, 9);
        // Every candidate answer is a set: sorted, no value twice.
        for (const c of [...v.before, ...v.after]) expect(c.answer).toEqual([...new Set(c.answer)].sort());
        // "changed" means the candidates or their shares really differ, and nothing else.
        const b = shareOf(v.before);
        const a = shareOf(v.after);
        const differs = [...new Set([...b.keys(), ...a.keys()])].some((k) => Math.abs((b.get(k) ?? 0) - (a.get(k) ?? 0)) > 1e-9);
        expect(v.changed, `${rec.name} from ${v.country}: ${JSON.stringify(v.before)} → ${JSON.stringify(v.after)}`).toBe(differs);
        if (v.changed) {
          changed++;
          expect(v.moved_share).toBeGreaterThan(0);
          expect(v.moves_to.reduce((n, m) => n + m.share, 0)).toBeCloseTo(v.moved_share, 9);
          // Nothing moves to the region being drilled.
          expect(v.to_regions).not.toContain('eu-west');
          for (const c of v.after) expect(c.regions).not.toContain('eu-west');
        }
      }
    }
    expect(pv.changed_answers).toBe(changed);
    const rec = (name: string, type = 'A') => pv.records.find((x) => x.name === `${name}.${ORIGIN}.` && x.type === type)!;
    for (const v of rec('mv').vantage) {
      // A multivalue answer is one set, whatever order it is shuffled in; here it moves whole to eu-central.
      expect(v.before).toEqual([{ answer: ['203.0.113.10', '203.0.113.11'], share: 1, regions: ['eu-west'], all_down: false }]);
      expect(v.after).toEqual([{ answer: ['203.0.113.20'], share: 1, regions: ['eu-central'], all_down: false }]);
      expect(v).toMatchObject({ changed: true, moved_share: 1, to_regions: ['eu-central'] });
    }
    for (const v of rec('static', 'CNAME').vantage) {
      // A hostname pool is answered with one CNAME (the primary): losing the backup changes nothing.
      expect(v.before).toEqual([{ answer: ['edge.cdn-one.example.net.'], share: 1, regions: ['us-east'], all_down: false }]);
      expect(v.changed).toBe(false);
    }
    for (const v of rec('canary').vantage) {
      expect(shareOf(v.before)).toEqual(
        new Map([
          ['198.51.100.10 198.51.100.11', 0.9],
          ['198.51.100.20 198.51.100.21', 0.1],
        ]),
      );
    }
    // Sticky: one endpoint per client network.
    for (const v of rec('shop').vantage) expect(v.before).toHaveLength(1);
    // web-use is weighted 3:1.
    const us = rec('api').vantage.find((v) => v.country === 'US')!;
    expect(shareOf(us.before)).toEqual(
      new Map([
        ['198.51.100.10', 0.75],
        ['198.51.100.11', 0.25],
      ]),
    );
    // Irish clients of api lose eu-west (2:2) and all go to eu-central.
    const ie = rec('api').vantage.find((v) => v.country === 'IE')!;
    expect(shareOf(ie.before)).toEqual(
      new Map([
        ['203.0.113.10', 0.5],
        ['203.0.113.11', 0.5],
      ]),
    );
    expect(ie).toMatchObject({ changed: true, moved_share: 1, to_regions: ['eu-central'] });
    expect(pv.capacity.find((c) => c.region === 'eu-west')).toMatchObject({ usable_before: 3, usable_after: 0 });
  });

  it("a drill of a region holding none of a record's endpoints changes nothing for it", async () => {
    for (const { id: region } of doc.regions) {
      const pv = (await api(node, 'POST', '/v1/drills', { region, mode: 'preview', min_healthy_regions: 0 })).json as Preview;
      let untouched = 0;
      for (const rec of pv.records) {
        if (regionsOf(short(rec.name), rec.type).has(region)) continue;
        untouched++;
        for (const v of rec.vantage) {
          expect(v.changed, `${rec.name} ${rec.type} from ${v.country} when ${region} is out`).toBe(false);
          expect(v.after).toEqual(v.before);
        }
      }
      expect(untouched, region).toBeGreaterThan(0);
    }
  }, 30_000);

  it('meridian drill preview prints the candidates as text and exits 0; a failing safety rule exits 1', async () => {
    const ok = await drill(node, 'preview', '--region', 'eu-west');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('drill preview: region eu-west');
    expect(ok.stdout).toMatch(/^mv\.gslb\.example\.org\. A {2}from US, /m);
    expect(ok.stdout).toContain('now:     203.0.113.10 203.0.113.11 100%');
    expect(ok.stdout).toMatch(/moves: +100% of its answers, to 203\.0\.113\.20 100% \(eu-central\)/);
    expect(ok.stdout).not.toMatch(/^static\./m);
    expect(ok.stdout).toContain('every safety rule passes');
    // Five regions, one drilled: four keep a usable endpoint, fewer than five.
    const bad = await drill(node, 'preview', '--region', 'eu-west', '--min-healthy-regions', '5');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL\s+min_healthy_regions\s+4 region\(s\) keep a usable endpoint; the minimum is 5/);
    expect(bad.stderr).toContain('min_healthy_regions');
    expect((await api(node, 'POST', '/v1/drills', { region: 'eu-west', mode: 'preview', min_healthy_regions: 5 })).json.passed).toBe(false);
  }, 30_000);
});

describe('live drills on the shipped zone', () => {
  for (const region of ['eu-west', 'eu-central']) {
    it(`meridian drill run --region ${region} passes: every answer was a predicted candidate`, async () => {
      const run = await drill(node, 'run', '--region', region, '--for', '5s', '--reason', 'e2e');
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toMatch(/: done {2}target region /);
      expect(run.stdout).toMatch(/pass\s+predictions\s+\d+ answers for \d+ record × vantage pairs were all predicted candidates/);
      const id = /^drill (\S+):/.exec(run.stdout)![1]!;
      const report = (await api(node, 'GET', `/v1/drills/${id}`)).json;
      for (const c of report.checks) expect(c.pass, `${c.rule}: ${c.detail}`).toBe(true);
      expect(report.violations).toEqual([]);
      expect(report.observations.length).toBeGreaterThan(0);
      for (const o of report.observations) {
        expect(o.matches_prediction, `${o.name} from ${o.country}: ${o.detail ?? ''}`).toBe(true);
        // Weighted answers: more than one answer was seen and each was predicted.
        for (const seen of o.observed) expect(o.predicted.map((c: Candidate) => c.answer.join(' '))).toContain(seen.answer.join(' '));
      }
      const weighted = report.observations.filter((o: { predicted: Candidate[] }) => o.predicted.length > 1);
      if (region === 'eu-central') expect(weighted.length).toBeGreaterThan(0);
      for (const o of weighted) if (o.samples >= 40) expect(o.observed.length, `${o.name} from ${o.country}`).toBeGreaterThan(1);
    }, 60_000);
  }

  it('a drill whose answers leave the predicted set fails and says which answer, node and vantage point', async () => {
    const p = await serve();
    const rec = `/v1/zones/${ORIGIN}/records/nearest/A`;
    const original = (await api(p, 'GET', rec)).json;
    expect(original).toMatchObject({ name: 'nearest', type: 'A' });
    const child = spawn(
      process.execPath,
      [path.join(repoRoot, 'dist/main.js'), 'drill', '--api', `http://127.0.0.1:${p.adminPort}`, 'run', '--region', 'eu-west', '--for', '6s'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const IE = { family: 1 as const, sourcePrefix: 24, address: '87.32.0.0' };
    // During the drill Irish clients of `nearest` get eu-central (predicted); then someone points it at Singapore.
    await waitFor(async () => ((await ask(p.dnsPort, `nearest.${ORIGIN}`, 'A', { ecs: IE })).answers?.[0]?.data === '203.0.113.20' ? true : null), 5_000, 50);
    expect((await api(p, 'PUT', rec, { name: 'nearest', type: 'A', policy: { weighted: { pool: 'web-apse' } } })).status).toBe(200);
    await waitFor(async () => ((await ask(p.dnsPort, `nearest.${ORIGIN}`, 'A', { ecs: IE })).answers?.[0]?.data === '203.0.113.30' ? true : null), 5_000, 50);
    await new Promise((r) => setTimeout(r, 500));
    // Put it back before the drill ends, so that the target returns and only the predictions fail.
    expect((await api(p, 'PUT', rec, original)).status).toBe(200);
    expect(await code).toBe(1);
    expect(out).toMatch(
      /FAIL\s+predictions\s+\d+ of \d+ record × vantage pairs broke the preview: nearest\.gslb\.example\.org\. A from \w\w \([\d./]+\) on node 127\.0\.0\.1:\d+ answered 203\.0\.113\.30, not one of the predicted/,
    );
    expect(out).toMatch(
      new RegExp(
        `node 127\\.0\\.0\\.1:${p.dnsPort} {2}nearest\\.gslb\\.example\\.org\\. A from IE \\(87\\.32\\.0\\.0/24\\): 203\\.0\\.113\\.30 — not one of the predicted candidates`,
      ),
    );
    expect(out).toMatch(/pass\s+traffic_returned/);
    const id = /^drill (\S+):/m.exec(out)![1]!;
    const report = (await api(p, 'GET', `/v1/drills/${id}`)).json;
    expect(report.violations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ node: `127.0.0.1:${p.dnsPort}`, name: `nearest.${ORIGIN}.`, country: 'IE', answer: ['203.0.113.30'] }),
      ]),
    );
    const ie = report.observations.find((o: { name: string; country: string }) => o.name === `nearest.${ORIGIN}.` && o.country === 'IE');
    expect(ie.matches_prediction).toBe(false);
    // The records the edit did not touch still held to their predictions.
    expect(
      report.observations.filter((o: { name: string }) => o.name === `mv.${ORIGIN}.`).every((o: { matches_prediction: boolean }) => o.matches_prediction),
    ).toBe(true);
  }, 60_000);

  it('a drill whose answers stay predicted but whose shares are off fails the share check', async () => {
    const p = await serve();
    const start = await api(p, 'POST', '/v1/drills', { region: 'eu-central', mode: 'live', duration_s: 10, reason: 'shares' });
    expect(start.status).toBe(202);
    // German clients of api are predicted to get euw-a and euw-b half and half (weights 2:2), but
    // an operator drains euw-a during the drill: every answer is still a candidate (euw-b), at 100%.
    expect((await api(p, 'POST', '/v1/overrides', { endpoint: 'web-euw/euw-a', kind: 'drain', reason: 'disk swap' })).status).toBe(201);
    const report = await waitFor(
      async () => {
        const r = (await api(p, 'GET', `/v1/drills/${start.json.id}`)).json;
        return r.state === 'done' ? r : null;
      },
      45_000,
      250,
    );
    expect(report.violations).toEqual([]);
    const predictions = report.checks.find((c: { rule: string }) => c.rule === 'predictions');
    expect(predictions.pass).toBe(false);
    expect(predictions.detail).toMatch(
      /api\.gslb\.example\.org\. A from DE on node 127\.0\.0\.1:\d+: 203\.0\.113\.10 got [\d.]+% of \d+ answers, predicted 50% ± [\d.]+%/,
    );
    const obs = report.observations.find((o: { name: string; country: string }) => o.name === `api.${ORIGIN}.` && o.country === 'DE');
    expect(obs.matches_prediction).toBe(false);
    expect(obs.predicted.map((c: Candidate) => [c.answer.join(' '), c.share])).toEqual([
      ['203.0.113.10', 0.5],
      ['203.0.113.11', 0.5],
    ]);
    // The rest of the drill held.
    for (const rule of ['converged', 'no_client_without_answer', 'traffic_returned'])
      expect(report.checks.find((c: { rule: string }) => c.rule === rule).pass, rule).toBe(true);
  }, 60_000);
});
