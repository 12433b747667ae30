/**
 * `meridian ctl` as an operator runs it: a real process against a real node's admin API, with
 * exit codes, tables, and changes visible in DNS.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask } from '../support/dns-client.js';
import { freePort, repoRoot, startTestNode, tempZones, waitFor } from '../support/tools.js';
import { apiRequest } from '../support/api.js';
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
  return ctlAs({}, ...args);
}

/** ctl with more options for the child (another user: `{ uid, gid }`); no token in its environment. */
async function ctlAs(opts: { uid?: number; gid?: number; api?: string }, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [path.join(repoRoot, 'dist/main.js'), 'ctl', '--api', opts.api ?? `http://127.0.0.1:${node.admin.port}`, ...args],
      { env: { ...process.env, MERIDIAN_TOKEN: '', MERIDIAN_API: '' }, ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid! } : {}) },
    );
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
    expect(list.stdout).toMatch(/endpoint:web-euw\/euw-a\s+drain\s+local\s+\S+\s+disk swap/);
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

/** Another user to run as (tests that need one run as root, as CI's container does). */
const NOBODY = { uid: 65534, gid: 65534 };
const root = process.getuid?.() === 0;

describe('with no token configured: no anonymous write, and ctl on the same machine still works', () => {
  it("an unauthenticated write is 401 and changes nothing, while ctl finds the node's own token", async () => {
    const base = `http://127.0.0.1:${node.admin.port}`;
    const anon = await apiRequest(`${base}/v1/overrides`, 'POST', { endpoint: 'web-euw/euw-b', kind: 'drain', reason: 'anonymous' });
    expect(anon.status).toBe(401);
    expect(anon.json.code).toBe('MRD_ERR_API_UNAUTHORIZED');
    expect((await ctl('overrides', 'list')).stdout).not.toContain('web-euw/euw-b');
    expect((await ctl('drain', 'web-euw/euw-b', '--reason', 'via ctl')).code).toBe(0);
    expect((await ctl('overrides', 'list')).stdout).toMatch(/endpoint:web-euw\/euw-b\s+drain\s+local\s/);
    expect((await ctl('undrain', 'web-euw/euw-b')).code).toBe(0);
  });

  it.skipIf(!root)('a user who cannot read the token file can read but not write, and is told why', async () => {
    expect((await ctlAs(NOBODY, 'overrides', 'list')).code).toBe(0);
    const r = await ctlAs(NOBODY, 'drain', 'web-euw/euw-b', '--reason', 'not allowed');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Authentication required (HTTP 401, MRD_ERR_API_UNAUTHORIZED)');
    expect(r.stderr).toContain(node.localTokenFile!);
    expect(r.stderr).toMatch(/cannot (read|see)/);
  });

  it.skipIf(!root)("ctl does not send the token to a program of another user that names the node's token file", async () => {
    // A program of another user on another port that claims to be the API and names the real
    // token file: ctl (root, able to read the file) must not send the token there.
    const port = await freePort();
    const impostor = `
      const http = require('node:http');
      http.createServer((req, res) => {
        if (req.url === '/v1/auth/local') { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ token_file: ${JSON.stringify(node.localTokenFile)} })); return; }
        process.stdout.write('AUTH ' + (req.headers.authorization || '-') + '\\n');
        res.statusCode = 401; res.end('{}');
      }).listen(${port}, '127.0.0.1', () => process.stdout.write('READY\\n'));`;
    const child = spawn(process.execPath, ['-e', impostor], { ...NOBODY, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(async () => out.includes('READY'));
      const r = await ctlAs({ api: `http://127.0.0.1:${port}` }, 'drain', 'web-euw/euw-b', '--reason', 'x');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/does not belong to the user whose program listens on port/);
      await waitFor(async () => out.includes('AUTH '));
      expect(out).toContain('AUTH -');
      expect(out).not.toContain('mrd_');
    } finally {
      child.kill();
    }
  });
});
