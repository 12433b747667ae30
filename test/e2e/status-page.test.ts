/**
 * The status page in a real browser: headless Chromium (Debian's `chromium`) driven by
 * playwright-core. A region turns red when its targets die, and a live drill shows its countdown.
 * The test saves a screenshot to test/artifacts/status-page.png each time it runs.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, repoRoot, startTestNode } from '../support/tools.js';
import type { RunningNode } from '../../src/cli/serve.js';

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
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ region: 'us-east', mode: 'live', duration_s: 60, min_healthy_regions: 0, reason: 'page test' }),
    });
    // With eu-west down, draining us-east would leave www with nothing: the drill is refused.
    expect(res.status).toBe(409);
    // Bring eu-west back and drill us-east instead.
    await new Promise<void>((r) => target.listen(targetPort, '127.0.0.51', () => r()));
    await expect.poll(() => euStatus.textContent(), { timeout: 10_000 }).toBe('healthy');
    const ok = await fetch(`http://127.0.0.1:${node.admin.port}/v1/drills`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ region: 'us-east', mode: 'live', duration_s: 60, reason: 'page test' }),
    });
    expect(ok.status).toBe(202);
    const countdown = page.locator('#drills tbody tr').first().locator('.countdown');
    await expect.poll(() => countdown.textContent(), { timeout: 10_000 }).toMatch(/^(59|58|57|56|55)s$/);
    await expect.poll(() => page.locator('#pins g[data-region="us-east"]').getAttribute('class'), { timeout: 5_000 }).toContain('drained');

    fs.mkdirSync(path.join(repoRoot, 'test/artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(repoRoot, 'test/artifacts/status-page.png'), fullPage: true });
    await page.close();
  }, 60_000);
});
