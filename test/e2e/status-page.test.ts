/**
 * The status page in a real browser: headless Chromium (Debian's `chromium`) driven by
 * playwright-core. A region turns red when its targets die, and a live drill shows its countdown.
 * A region nobody checks is `unchecked`, never green; the map has a legend whose colours are the
 * pins' colours, and its labels overlap no other label and no pin (measured in Chromium);
 * weight-0 endpoints are marked; drill targets read as text.
 * The tests save screenshots to test/artifacts/status-page.png and status-page-map.png.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, repoRoot, startTestNode } from '../support/tools.js';
import { bearer, localToken } from '../support/api.js';
import type { RunningNode } from '../../src/node/node.js';

const CHROMIUM = '/usr/bin/chromium';
let browser: Browser;
let node: RunningNode;
let target: http.Server;
let dir: string;
let targetPort: number;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  const port = await freePort();
  targetPort = port;
  target = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => target.listen(port, '127.0.0.51', () => r()));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-page-'));
  fs.writeFileSync(
    path.join(dir, 'page.test.yaml'),
    `
zone: page.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
checks: [ { id: web, type: http, port: ${port}, interval: 1s, timeout: 500ms, rise: 1, fall: 1 } ]
regions:
  - { id: eu-west, name: "EU West", location: { lat: 53.3, lon: -6.3 }, country: IE }
  - { id: us-east, name: "US East", location: { lat: 39.0, lon: -77.5 }, country: US }
pools:
  - { id: eu, check: web, endpoints: [ { id: a, address: 127.0.0.51, region: eu-west } ] }
  - { id: us, endpoints: [ { id: a, address: 127.0.0.52, region: us-east } ] }
policies:
  - { name: www, type: A, policy: { failover: { tiers: [ { pool: eu }, { pool: us } ] } } }
`,
  );
  node = await startTestNode(dir);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
});

afterAll(async () => {
  await browser?.close();
  await node?.stop();
  target?.closeAllConnections();
  await new Promise<void>((r) => (target ? target.close(() => r()) : r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('status page', () => {
  it('shows a region turning red when its target dies, and a drill countdown', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`http://127.0.0.1:${node.admin.port}/`);
    const euStatus = page.locator('#regions tr[data-region="eu-west"] .status').first();
    await expect.poll(() => euStatus.textContent(), { timeout: 10_000 }).toBe('healthy');
    await expect.poll(() => page.locator('#pins g[data-region="eu-west"]').getAttribute('class')).toContain('healthy');
    // us-east's pool has no check: it is answered, but nobody looked, so it is not painted healthy.
    expect(await page.locator('#regions tr[data-region="us-east"] .status').first().textContent()).toBe('unchecked');
    expect(await page.locator('#pins g[data-region="us-east"]').getAttribute('class')).toBe('pin unchecked');
    expect(await page.locator('#regions tr[data-region="us-east"] [data-endpoint="us/a"]').getAttribute('data-status')).toBe('unchecked');
    // A single node lists itself in the nodes table (a cluster lists every member: cluster.test.ts).
    expect(await page.locator('#etcd').textContent()).toBe('· single node');
    expect(await page.locator('#nodes tbody tr').count()).toBe(1);
    expect(await page.locator('#nodes tbody tr').first().textContent()).toMatch(/\(this node\).*active checker.*test/);

    // The target dies: within fall (1) × interval (1 s) plus a poll the region is down, in red.
    target.closeAllConnections();
    await new Promise<void>((r) => target.close(() => r()));
    await expect.poll(() => euStatus.textContent(), { timeout: 10_000 }).toBe('down');
    expect(await page.locator('#pins g[data-region="eu-west"]').getAttribute('class')).toContain('down');
    expect(await page.locator('#transitions tbody').textContent()).toContain('eu/a');

    // A live drill on the other region shows its countdown.
    const res = await fetch(`http://127.0.0.1:${node.admin.port}/v1/drills`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(localToken(node.localTokenFile)) },
      body: JSON.stringify({ region: 'us-east', mode: 'live', duration_s: 60, min_healthy_regions: 0, reason: 'page test' }),
    });
    // With eu-west down, draining us-east would leave www with nothing: the drill is refused.
    expect(res.status).toBe(409);
    // Bring eu-west back and drill us-east instead.
    await new Promise<void>((r) => target.listen(targetPort, '127.0.0.51', () => r()));
    await expect.poll(() => euStatus.textContent(), { timeout: 10_000 }).toBe('healthy');
    const ok = await fetch(`http://127.0.0.1:${node.admin.port}/v1/drills`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(localToken(node.localTokenFile)) },
      body: JSON.stringify({ region: 'us-east', mode: 'live', duration_s: 60, reason: 'page test' }),
    });
    expect(ok.status).toBe(202);
    const countdown = page.locator('#drills tbody tr').first().locator('.countdown');
    await expect.poll(() => countdown.textContent(), { timeout: 10_000 }).toMatch(/^(59|58|57|56|55)s$/);
    await expect.poll(() => page.locator('#pins g[data-region="us-east"]').getAttribute('class'), { timeout: 5_000 }).toContain('drained');
    expect(await page.locator('#drills tbody tr').first().locator('td.target').textContent()).toBe('region us-east');

    fs.mkdirSync(path.join(repoRoot, 'test/artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(repoRoot, 'test/artifacts/status-page.png'), fullPage: true });
    await page.close();
  }, 60_000);
});

/** Chromium's box of an element, in CSS pixels. */
interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
const intersection = (a: Box, b: Box): number =>
  Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)) * Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));

describe('status page: states, legend, labels, weight 0, drill targets', () => {
  let mapNode: RunningNode;
  let mapTarget: http.Server;
  let mapDir: string;

  beforeAll(async () => {
    const port = await freePort();
    mapTarget = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => mapTarget.listen(port, '127.0.0.61', () => r()));
    mapDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-map-'));
    // Five regions within 15° of each other in Europe (Dublin and Frankfurt are the shipped
    // zone's eu-west and eu-central), and every region state once.
    fs.writeFileSync(
      path.join(mapDir, 'map.test.yaml'),
      `
zone: map.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
checks:
  - { id: web, type: http, port: ${port}, interval: 1s, timeout: 500ms, rise: 1, fall: 1 }
regions:
  - { id: eu-west, name: "EU West (Dublin)", location: { lat: 53.35, lon: -6.26 }, country: IE }
  - { id: eu-central, name: "EU Central (Frankfurt)", location: { lat: 50.11, lon: 8.68 }, country: DE }
  - { id: eu-london, name: "EU London", location: { lat: 51.51, lon: -0.13 }, country: GB }
  - { id: eu-paris, name: "EU Paris", location: { lat: 48.86, lon: 2.35 }, country: FR }
  - { id: eu-amsterdam, name: "EU Amsterdam", location: { lat: 52.37, lon: 4.9 }, country: NL }
  - { id: us-east, name: "US East", location: { lat: 39.04, lon: -77.49 }, country: US }
  - { id: sa-east, name: "SA East", location: { lat: -23.55, lon: -46.63 }, country: BR }
  - { id: ap-southeast, name: "AP Southeast", location: { lat: 1.35, lon: 103.82 }, country: SG }
  - { id: af-south, name: "AF South", location: { lat: -33.92, lon: 18.42 }, country: ZA }
pools:
  - { id: euw, check: web, endpoints: [ { id: euw-a, address: 127.0.0.61, region: eu-west } ] }
  - { id: euc, endpoints: [ { id: euc-a, address: 192.0.2.20, region: eu-central } ] }
  - { id: lon, endpoints: [ { id: a, address: 192.0.2.21, region: eu-london } ] }
  - { id: par, endpoints: [ { id: a, address: 192.0.2.22, region: eu-paris } ] }
  - { id: ams, endpoints: [ { id: a, address: 192.0.2.23, region: eu-amsterdam } ] }
  - { id: use, endpoints: [ { id: main, address: 192.0.2.30, region: us-east }, { id: spare, address: 192.0.2.31, region: us-east, weight: 0 } ] }
  - { id: sae, check: web, endpoints: [ { id: a, address: 127.0.0.62, region: sa-east } ] }
  - { id: apse, endpoints: [ { id: a, address: 192.0.2.40, region: ap-southeast, weight: 0 } ] }
policies:
  - { name: www, type: A, policy: { failover: { tiers: [ { pool: euw }, { pool: euc }, { pool: lon }, { pool: par }, { pool: ams }, { pool: use } ] } } }
  - { name: sa, type: A, policy: { pool: sae } }
  - { name: ap, type: A, policy: { pool: apse } }
`,
    );
    mapNode = await startTestNode(mapDir);
  });

  afterAll(async () => {
    await mapNode?.stop();
    mapTarget?.closeAllConnections();
    await new Promise<void>((r) => (mapTarget ? mapTarget.close(() => r()) : r()));
    fs.rmSync(mapDir, { recursive: true, force: true });
  });

  it('paints each state in its own colour with a legend, places labels without overlaps, marks weight 0, shows drill targets as text', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`http://127.0.0.1:${mapNode.admin.port}/`);
    const pinClass = (id: string) => page.locator(`#pins g[data-region="${id}"]`).getAttribute('class');
    await expect.poll(() => pinClass('eu-west'), { timeout: 10_000 }).toBe('pin healthy');
    await expect.poll(() => pinClass('sa-east'), { timeout: 10_000 }).toBe('pin down');
    const expected: Record<string, string> = {
      'eu-west': 'healthy',
      'eu-central': 'unchecked',
      'eu-london': 'unchecked',
      'eu-paris': 'unchecked',
      'eu-amsterdam': 'unchecked',
      'us-east': 'degraded',
      'sa-east': 'down',
      'ap-southeast': 'drained',
      'af-south': 'empty',
    };
    for (const [id, state] of Object.entries(expected)) {
      expect(await pinClass(id), id).toBe(`pin ${state}`);
      expect(await page.locator(`#regions tr[data-region="${id}"] > td > .status`).textContent(), id).toBe(state);
    }

    // The legend: one entry per state, with its word, in the colour its pins have; six distinct colours.
    // (The callbacks run in the page; this project compiles without the DOM types, hence `any`.)
    const legend: { state: string; word: string; colour: string }[] = await page.$$eval('#legend li', (lis: any[]) =>
      lis.map((li) => ({
        state: li.dataset.state,
        word: li.querySelector('.word').textContent,
        colour: (globalThis as any).getComputedStyle(li.querySelector('.swatch')).backgroundColor,
      })),
    );
    expect(legend.map((l) => l.state)).toEqual(['healthy', 'degraded', 'down', 'drained', 'unchecked', 'empty']);
    for (const l of legend) expect(l.word).toBe(l.state);
    expect(new Set(legend.map((l) => l.colour)).size).toBe(6);
    for (const [id, state] of Object.entries(expected)) {
      const fill = await page.locator(`#pins g[data-region="${id}"] circle`).evaluate((c: any) => (globalThis as any).getComputedStyle(c).fill as string);
      expect(fill, id).toBe(legend.find((l) => l.state === state)!.colour);
    }

    // Labels: measured by Chromium, no label overlaps another label or any pin, and all stay on the map.
    const boxes: { id: string; label: Box; pin: Box }[] = await page.$$eval('#pins g.pin', (gs: any[]) =>
      gs.map((g) => {
        const box = (el: any) => {
          const r = el.getBoundingClientRect();
          return { x: r.x, y: r.y, width: r.width, height: r.height };
        };
        return { id: g.dataset.region, label: box(g.querySelector('text')), pin: box(g.querySelector('circle')) };
      }),
    );
    const map = await page.locator('#map').boundingBox();
    expect(boxes).toHaveLength(9);
    for (const a of boxes) {
      expect(a.label.width, a.id).toBeGreaterThan(0);
      expect(
        a.label.x >= map!.x && a.label.y >= map!.y && a.label.x + a.label.width <= map!.x + map!.width && a.label.y + a.label.height <= map!.y + map!.height,
        `${a.id} label on the map`,
      ).toBe(true);
      for (const b of boxes) {
        expect(intersection(a.label, b.pin), `${a.id} label over the ${b.id} pin`).toBe(0);
        if (a !== b) expect(intersection(a.label, b.label), `${a.id} label over the ${b.id} label`).toBe(0);
      }
    }
    fs.mkdirSync(path.join(repoRoot, 'test/artifacts'), { recursive: true });
    await page.locator('#map').screenshot({ path: path.join(repoRoot, 'test/artifacts/status-page-map.png') });

    // Weight 0: marked in words, and not counted as usable (1 of 2 in us-east).
    const spare = page.locator('#regions tr[data-region="us-east"] [data-endpoint="use/spare"]');
    expect(await spare.getAttribute('data-status')).toBe('weight_zero');
    expect(await spare.locator('.status').textContent()).toBe('weight zero');
    expect(await page.locator('#regions tr[data-region="us-east"] td.usable').textContent()).toMatch(/^1\/2weight 1\/1$/);

    // Drill targets read as text, a region and a list of endpoints alike.
    const start = (body: object) =>
      fetch(`http://127.0.0.1:${mapNode.admin.port}/v1/drills`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(localToken(mapNode.localTokenFile)) },
        body: JSON.stringify({ mode: 'live', duration_s: 60, min_healthy_regions: 0, reason: 'page test', ...body }),
      });
    expect((await start({ region: 'eu-central' })).status).toBe(202);
    expect((await start({ endpoints: ['lon/a', 'ams/a'] })).status).toBe(202);
    const targets = page.locator('#drills tbody td.target');
    await expect.poll(() => targets.allTextContents(), { timeout: 10_000 }).toEqual(['endpoints lon/a, ams/a', 'region eu-central']);
    expect(await page.locator('#drills tbody').textContent()).not.toMatch(/[{}"]/);
    // A drained region is purple, as its legend entry says.
    await expect.poll(() => pinClass('eu-central'), { timeout: 5_000 }).toBe('pin drained');
    await page.close();
  }, 60_000);
});
