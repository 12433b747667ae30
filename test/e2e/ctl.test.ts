/**
 * `meridian ctl` beyond the everyday tour in cli-ctl.test.ts (zones list/get/apply, drain,
 * regions, simulate, errors): help for each command, master-file and create-a-zone applies
 * (the stale-file cases are in zone-writes.test.ts),
 * field errors from a bad document, region drains, what-if simulation, JSON output, a typo'd
 * drain target, and a node with bearer tokens. Real processes against real nodes.
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
const WRITE_TOKEN = 'ops-0123456789abcdef';
const READ_TOKEN = 'viewer-0123456789abcdef';

let node: RunningNode;
let locked: RunningNode;
let zones: string;
let lockedZones: string;
let work: string;

beforeAll(async () => {
  zones = tempZones();
  lockedZones = tempZones();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-ctl-'));
  const tokensFile = path.join(work, 'tokens.yaml');
  fs.writeFileSync(tokensFile, `- { name: ops, role: write, token: ${WRITE_TOKEN} }\n- { name: viewer, role: read, token: ${READ_TOKEN} }\n`);
  [node, locked] = await Promise.all([startTestNode(zones), startTestNode(lockedZones, { tokensFile })]);
});
afterAll(async () => {
  await Promise.all([node?.stop(), locked?.stop()]);
  for (const d of [zones, lockedZones, work]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `meridian ARGS` as a real process; never throws on a non-zero exit. */
async function meridian(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const clean = { ...process.env, MERIDIAN_API: '', MERIDIAN_TOKEN: '', ...env };
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(repoRoot, 'dist/main.js'), ...args], { env: clean });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as Result;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const ctl = (...args: string[]) => meridian(['ctl', '--api', `http://127.0.0.1:${node.admin.port}`, ...args]);

describe('meridian ctl: help', () => {
  it('prints the command list, and each command its own help', async () => {
    const top = await meridian(['ctl', '--help']);
    expect(top.code).toBe(0);
    for (const c of ['zones list', 'regions status ID', 'drain ENDPOINT', 'undrain', 'overrides list', 'simulate NAME']) expect(top.stdout).toContain(c);
    const bare = await meridian(['ctl']);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toContain('Usage: meridian ctl');

    const cases: [string[], string][] = [
      [['ctl', 'zones', '--help'], 'meridian ctl zones apply FILE'],
      [['ctl', 'regions', '-h'], 'meridian ctl regions status ID'],
      [['ctl', 'drain', '--help'], '--reason is\nrequired'],
      [['ctl', 'undrain', '--help'], 'meridian ctl undrain --region ID'],
      [['ctl', 'overrides', '--help'], 'meridian ctl overrides list'],
      [['ctl', 'nodes', '--help'], 'GET /v1/nodes'],
      [['ctl', 'simulate', '--help'], 'EDNS Client Subnet'],
      [['drill', '--help'], 'meridian ctl drill preview'],
    ];
    for (const [args, text] of cases) {
      const r = await meridian(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toContain(text);
      expect(r.stdout).not.toContain('Operate a Meridian node');
    }
  });

  it('bad usage exits 2 and says what is wrong', async () => {
    const cases: [string[], string][] = [
      [['zones'], 'unknown "zones "'],
      [['zones', 'get'], 'missing ZONE'],
      [['zones', 'export', 'example.net', '--format', 'json'], '--format must be yaml or zone'],
      [['regions', 'status'], 'missing region ID'],
      [['drain', '--region', 'eu-west', '--reason', 'x', '--for', '10 minutes'], '--for must be a duration'],
      [['drain', 'web-euw/euw-a', '--region', 'eu-west', '--reason', 'x'], 'give an endpoint (pool/id) or --region ID'],
      [['overrides'], 'use "overrides list"'],
      [['simulate'], 'missing NAME'],
      [['--frobnicate', 'zones', 'list'], "Unknown option '--frobnicate'"],
    ];
    for (const [args, text] of cases) {
      const r = await ctl(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(text);
    }
    const badApi = await meridian(['ctl', '--api', 'not a url', 'zones', 'list']);
    expect(badApi.code).toBe(2);
    expect(badApi.stderr).toContain('--api must be a URL');
  });
});

describe('meridian ctl: nodes', () => {
  it('a single node lists itself', async () => {
    const r = await ctl('nodes');
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^NODE\s+KIND\s+REGION\s+DNS\s+REVISION\s+LAG\s+SEEN\s+CHECKS/);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(/ \*\s+node\s+\S+\s+127\.0\.0\.1:\d+\s+\d+\s+0\s/);
  });
});

describe('meridian ctl: zones apply', () => {
  it('a master file replaces its zone through /v1/zones/import; DNS answers the new record', async () => {
    const file = path.join(work, 'example.net.zone');
    const got = await ctl('zones', 'get', 'example.net');
    expect(got.stdout).toMatch(/^; meridian-etag: "2026112401-[0-9a-f]+"\n; example\.net/);
    fs.writeFileSync(file, got.stdout + 'applied-mf  IN  A  192.0.2.98\n');
    const r = await ctl('zones', 'apply', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('replaced example.net., serial 2026112402\n');
    expect((await ask(node.dns.port, 'applied-mf.example.net', 'A')).answers?.[0]?.data).toBe('192.0.2.98');
    expect((await ctl('zones', 'export', 'example.net', '--format', 'zone')).stdout).toMatch(/applied-mf\.example\.net\.\s+3600\s+IN\s+A\s+192\.0\.2\.98/);
  });

  it('a YAML file for a zone the node does not have creates it', async () => {
    const file = path.join(work, 'new.yaml');
    fs.writeFileSync(
      file,
      [
        'zone: new.example.org',
        'ttl: 300',
        'soa: { mname: ns1, rname: hostmaster.example.org., serial: 1, refresh: 1h, retry: 15m, expire: 2w, minimum: 60 }',
        'ns: [ns1]',
        'records:',
        '  - { name: ns1, type: A, value: 192.0.2.53 }',
        '  - { name: www, type: A, value: 192.0.2.80 }',
        '',
      ].join('\n'),
    );
    const r = await ctl('--json', 'zones', 'apply', file);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'new.example.org.' });
    expect((await ctl('zones', 'list')).stdout).toMatch(/^new\.example\.org\.\s+\d+\s+yaml/m);
    expect((await ask(node.dns.port, 'www.new.example.org', 'A')).answers?.[0]?.data).toBe('192.0.2.80');
  });

  it('a document the API refuses exits 1 with the title and each field error, and changes nothing', async () => {
    const before = (await ctl('--json', 'zones', 'list')).stdout;
    const file = path.join(work, 'bad.yaml');
    fs.writeFileSync(
      file,
      (await ctl('zones', 'get', 'gslb.example.org')).stdout.replace('records:\n', 'records:\n  - { name: oops, type: A, value: not-an-address }\n'),
    );
    const r = await ctl('zones', 'apply', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^meridian ctl: .+ \(HTTP 400, MRD_ERR_API_BAD_REQUEST\)/);
    expect(r.stderr).toMatch(/\n {2}- .*not-an-address/);
    expect(JSON.parse((await ctl('--json', 'zones', 'list')).stdout).zones).toEqual(JSON.parse(before).zones);

    const unreadable = await ctl('zones', 'apply', path.join(work, 'missing.yaml'));
    expect(unreadable.code).toBe(1);
    expect(unreadable.stderr).toContain('cannot read');
  });
});

describe('meridian ctl: regions, drains and simulate', () => {
  it('drains a whole region for a while: regions list shows it, simulate routes around it; undrain --region lifts it', async () => {
    const drained = await ctl('drain', '--region', 'eu-west', '--reason', 'maintenance', '--for', '30m');
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stdout).toMatch(/^drained region:eu-west until \d{4}-\d\d-\d\dT/);
    expect(drained.stderr).toBe('');
    expect((await ctl('regions', 'list')).stdout).toMatch(/^eu-west\s+drained\s+0\/3\s+3 drained\s+drain \(maintenance\)$/m);
    const status = JSON.parse((await ctl('--json', 'regions', 'status', 'eu-west')).stdout);
    expect(status.endpoints_detail.every((e: { usable: boolean }) => !e.usable)).toBe(true);
    const sim = await ctl('simulate', 'api.gslb.example.org', '--client', '81.2.69.0/24');
    expect(sim.stdout).not.toMatch(/ A 203\.0\.113\.1[01]\b/);
    expect((await ctl('undrain', '--region', 'eu-west')).stdout).toBe('lifted region:eu-west\n');
    expect((await ctl('regions', 'list')).stdout).toMatch(/^eu-west\s+unchecked\s+3\/3\s+3 unchecked\s+-$/m);
  });

  it('a drain naming an endpoint no zone defines is refused, and undrain of nothing is an API error', async () => {
    const r = await ctl('drain', 'web-euw/euw-typo', '--reason', 'typo');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Unknown override target (HTTP 404');
    expect(r.stderr).toContain('no zone defines endpoint "web-euw/euw-typo"');
    const again = await ctl('undrain', 'web-euw/euw-typo');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('No such override (HTTP 404');
  });

  it('simulate: what-if regions down, NXDOMAIN, and the raw JSON', async () => {
    const whatIf = await ctl('simulate', 'api.gslb.example.org', '--client', '81.2.69.0/24', '--down-regions', 'eu-west,eu-central');
    expect(whatIf.code).toBe(0);
    expect(whatIf.stdout).toMatch(/^NOERROR, ECS scope \/\d+$/m);
    expect(whatIf.stdout).toContain('what-if: {"down_regions":["eu-west","eu-central"]}');
    expect(whatIf.stdout).toMatch(/excluded web-euw\/euw-a: down \(what-if/);
    const eps = await ctl('simulate', 'api.gslb.example.org', '--client', '81.2.69.0/24', '--down-endpoints', 'web-euw/euw-a');
    expect(eps.stdout).toContain('what-if: {"down_endpoints":["web-euw/euw-a"]}');
    expect((await ctl('simulate', 'nosuch.gslb.example.org')).stdout).toMatch(/^NXDOMAIN/);
    const json = JSON.parse((await ctl('--json', 'simulate', 'api.gslb.example.org', '--client', '81.2.69.0/24')).stdout);
    expect(json.answer.records[0].data).toMatch(/^203\.0\.113\./);
    expect(json.answer.ecs_scope).toBe(27); // geoip-lite's /27 record (RFC 7871 §7.2.1)
    expect(json.explanation.path.length).toBeGreaterThan(0);
  });
});

describe('meridian ctl: a node with tokens', () => {
  const api = () => `http://127.0.0.1:${locked.admin.port}`;

  it('without a token: exit 1 with the 401 problem; with one (flag or MERIDIAN_TOKEN): the answer', async () => {
    const none = await meridian(['ctl', '--api', api(), 'zones', 'list']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('Authentication required (HTTP 401, MRD_ERR_API_UNAUTHORIZED)');
    const flag = await meridian(['ctl', '--api', api(), '--token', READ_TOKEN, 'zones', 'list']);
    expect(flag.code).toBe(0);
    expect(flag.stdout).toMatch(/^ZONE\s+SERIAL/);
    const env = await meridian(['ctl', 'overrides', 'list'], { MERIDIAN_API: api(), MERIDIAN_TOKEN: WRITE_TOKEN });
    expect(env.code, env.stderr).toBe(0);
    expect(env.stdout).toMatch(/^TARGET\s+KIND\s+BY\s+EXPIRES\s+REASON\n$/);
  });

  it('a read token may look but not drain (403); a write token drains, and the override names who', async () => {
    const ro = await meridian(['ctl', '--api', api(), '--token', READ_TOKEN, 'drain', 'web-euw/euw-a', '--reason', 'x']);
    expect(ro.code).toBe(1);
    expect(ro.stderr).toContain('Read-only token (HTTP 403, MRD_ERR_API_FORBIDDEN)');
    expect(ro.stderr).toContain('token "viewer" may read but not change anything');
    const rw = await meridian(['ctl', '--api', api(), '--token', WRITE_TOKEN, 'drain', 'web-euw/euw-a', '--reason', 'disk swap']);
    expect(rw.code, rw.stderr).toBe(0);
    expect((await meridian(['ctl', '--api', api(), '--token', READ_TOKEN, 'overrides', 'list'])).stdout).toMatch(
      /endpoint:web-euw\/euw-a\s+drain\s+ops\s+-\s+disk swap/,
    );
    expect((await meridian(['ctl', '--api', api(), '--token', WRITE_TOKEN, 'undrain', 'web-euw/euw-a'])).code).toBe(0);
  });
});
