/**
 * `meridian ctl` as an operator runs it: a real process against a real node's admin API, with
 * exit codes, tables, and changes visible in DNS.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask } from '../support/dns-client.js';
import { repoRoot, startTestNode, tempZones } from '../support/tools.js';
import type { RunningNode } from '../../src/node/node.js';

const run = promisify(execFile);
let node: RunningNode;
let zones: string;

beforeAll(async () => {
  zones = tempZones();
  node = await startTestNode(zones);
});
afterAll(async () => {
  await node?.stop();
  fs.rmSync(zones, { recursive: true, force: true });
});

async function ctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [
      path.join(repoRoot, 'dist/main.js'),
      'ctl',
      '--api',
      `http://127.0.0.1:${node.admin.port}`,
      ...args,
    ]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('meridian ctl', () => {
  it('zones list and get', async () => {
    const list = await ctl('zones', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ZONE\s+SERIAL\s+FORMAT/);
    expect(list.stdout).toMatch(/gslb\.example\.org\.\s+2026112401\s+yaml/);
    const get = await ctl('zones', 'get', 'gslb.example.org');
    expect(get.stdout).toContain('zone: gslb.example.org');
    const json = await ctl('--json', 'zones', 'list');
    expect(JSON.parse(json.stdout).zones.length).toBe(2);
  });

  it('zones apply: a changed YAML file replaces the zone, the serial moves on, DNS answers it', async () => {
    const file = path.join(os.tmpdir(), `meridian-apply-${process.pid}.yaml`);
    // As an operator edits it: what `zones get` wrote (with its meridian-etag line), changed.
    const text = (await ctl('zones', 'get', 'gslb.example.org')).stdout.replace('records:\n', 'records:\n  - { name: applied, type: A, value: 192.0.2.99 }\n');
    fs.writeFileSync(file, text);
    const r = await ctl('zones', 'apply', file);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/replaced gslb\.example\.org\., serial 2026112402/);
    expect((await ask(node.dns.port, 'applied.gslb.example.org', 'A')).answers?.[0]?.data).toBe('192.0.2.99');
    fs.rmSync(file);
  });

  it('drain, overrides list, undrain', async () => {
    expect((await ctl('drain', 'web-euw/euw-a', '--reason', 'disk swap', '--for', '30m')).stdout).toMatch(/drained endpoint:web-euw\/euw-a until /);
    const list = await ctl('overrides', 'list');
    expect(list.stdout).toMatch(/endpoint:web-euw\/euw-a\s+drain\s+anonymous\s+\S+\s+disk swap/);
    const mv = await ask(node.dns.port, 'mv.gslb.example.org', 'A');
    expect(mv.answers?.map((a) => a.data)).toEqual(['203.0.113.11']);
    expect((await ctl('undrain', 'web-euw/euw-a')).code).toBe(0);
    expect((await ctl('overrides', 'list')).stdout.trim().split('\n')).toHaveLength(1);
  });

  it('regions list and status', async () => {
    const list = await ctl('regions', 'list');
    // The shipped zone has no health checks: its regions are unchecked, never healthy (docs/health.md).
    expect(list.stdout).toMatch(/eu-west\s+unchecked\s+3\/3\s+3 unchecked/);
    expect(list.stdout).not.toMatch(/healthy/);
    const status = await ctl('regions', 'status', 'eu-west');
    expect(status.stdout).toContain('web-euw/euw-a');
  });

  it('simulate shows the answer, the scope and the path', async () => {
    const r = await ctl('simulate', 'api.gslb.example.org', '--client', '81.2.69.0/24');
    // geoip-lite's record holding 81.2.69.0 is a /27: the scope says so, past the /24 source (RFC 7871 §7.2.1).
    expect(r.stdout).toMatch(/NOERROR, ECS scope \/27/);
    // Records as dig prints them: owner (absolute), TTL, class, type, RDATA.
    expect(r.stdout).toMatch(/^ {2}api\.gslb\.example\.org\. 20 IN A 203\.0\.113\.\d+$/m);
    expect(r.stdout).toContain('located in GB-ENG (EU)');
    const mx = await ctl('simulate', 'example.net', '--type', 'mx');
    expect(mx.stdout).toContain('  example.net. 3600 IN MX 10 mail.example.net.\n');
    expect(mx.stdout).toContain('  example.net. 3600 IN MX 20 mail2.example.org.\n');
    const caa = await ctl('simulate', 'example.net', '--type', 'TYPE257');
    expect(caa.stdout).toContain('  example.net. 3600 IN CAA 0 issue "letsencrypt.org"\n');
  });

  it('simulate of an unknown type is an API error naming it', async () => {
    const r = await ctl('simulate', 'example.net', '--type', 'BOGUS');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(HTTP 400, MRD_ERR_API_BAD_REQUEST)');
    expect(r.stderr).toContain('"BOGUS" is not a record type');
  });

  it('an API error exits 1 with the problem on stderr; bad usage exits 2', async () => {
    const missing = await ctl('zones', 'get', 'nosuch.example');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No such zone (HTTP 404, MRD_ERR_API_NOT_FOUND)');
    expect((await ctl('frobnicate')).code).toBe(2);
    expect((await ctl('drain', 'web-euw/euw-a')).code).toBe(2); // no --reason
    const down = await run(process.execPath, [path.join(repoRoot, 'dist/main.js'), 'ctl', '--api', 'http://127.0.0.1:1', 'zones', 'list']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((down as { code: number }).code).toBe(1);
    expect((down as { stderr: string }).stderr).toContain('cannot reach the admin API');
  });
});
