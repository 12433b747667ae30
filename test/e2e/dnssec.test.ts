/**
 * DNSSEC end to end, judged by real validators: unbound (validator + iterator, the zone's DS as
 * its trust anchor, a stub-zone to Meridian) must set AD=1 on every kind of answer Meridian gives —
 * static, CNAME chain, wildcard, compact NXDOMAIN and NODATA (RFC 9824), an empty non-terminal,
 * weighted, geo with ECS, failover before and after a real health target dies — and SERVFAIL with a
 * wrong anchor; `delv` with the same anchor says "fully validated". Keys survive a restart (same
 * DS), and a key rollover with the parent's DS updated half-way keeps validation unbroken while a
 * resolver polls throughout. Nothing is mocked: real sockets, real processes, real signatures.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../src/node/node.js';
import { startDaemon, stopDaemon, unboundConf } from '../support/daemons.js';
import { Target } from '../support/target.js';
import { bearer, localToken } from '../support/api.js';
import { dig, freePort, hasCommand, startTestNode, waitFor } from '../support/tools.js';

const run = promisify(execFile);

const SIGNED = `
zone: signed.test
ttl: 5
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5, ttl: 5 }
ns: [ns1]
dnssec: {}
records:
  - { name: ns1, type: A, value: 127.0.0.1 }
  - { name: www, type: A, values: [192.0.2.1, 192.0.2.2] }
  - { name: www, type: TXT, value: '"hello"' }
  - { name: portal, type: CNAME, value: web }
  - { name: web, type: CNAME, value: www }
  - { name: "*.apps", type: A, value: 192.0.2.100 }
  - { name: host.a.deep, type: A, value: 192.0.2.7 }
  - { name: kid, type: NS, value: ns.kid }
  - { name: ns.kid, type: A, value: 127.0.0.99 }
checks:
  - { id: web, type: http, path: /health, port: PORT, body: ok, interval: 1s, timeout: 500ms, rise: 1, fall: 1 }
regions:
  - { id: eu, location: { lat: 50, lon: 8 }, country: DE }
  - { id: us, location: { lat: 39, lon: -77 }, country: US }
pools:
  - id: weighted
    endpoints:
      - { id: a, address: 198.51.100.1, region: eu, weight: 1 }
      - { id: b, address: 198.51.100.2, region: us, weight: 1 }
  - id: eu
    endpoints: [ { id: eu-1, address: 203.0.113.1, region: eu } ]
  - id: us
    endpoints: [ { id: us-1, address: 203.0.113.2, region: us } ]
  - id: primary
    check: web
    endpoints: [ { id: p, address: 127.0.0.41, region: eu } ]
  - id: backup
    check: web
    endpoints: [ { id: q, address: 127.0.0.42, region: us } ]
policies:
  - { name: split, type: A, ttl: 1, policy: { weighted: { pool: weighted } } }
  - name: geo
    type: A
    ttl: 1
    policy: { geo: { branches: [ { match: { continents: [EU] }, policy: { pool: eu } } ], default: { pool: us } } }
  - { name: fo, type: A, ttl: 1, policy: { failover: { tiers: [ { pool: primary }, { pool: backup } ] } } }
`;

const dirs: string[] = [];
const daemons: ChildProcess[] = [];
afterAll(async () => {
  for (const d of daemons) await stopDaemon(d);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

async function api(node: RunningNode, method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> {
  // Writes carry the node's own token (no anonymous writes).
  const auth = method === 'GET' ? {} : bearer(localToken(node.localTokenFile));
  const res = await fetch(`http://127.0.0.1:${node.admin.port}${url}`, {
    method,
    headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** A validating unbound on a free port: `anchors` are trust-anchor lines, stubs to Meridian. */
async function startValidator(anchors: string[], stubs: string[], dnsPort: number, extra: string[] = []): Promise<number> {
  const port = await freePort();
  const dir = tempDir('meridian-validator-');
  const conf = path.join(dir, 'unbound.conf');
  fs.writeFileSync(
    conf,
    unboundConf(dir, port, {
      server: [
        'verbosity: 1',
        'module-config: "subnetcache validator iterator"',
        'harden-referral-path: no',
        'val-log-level: 2',
        'cache-max-ttl: 1',
        'cache-max-negative-ttl: 1',
        'send-client-subnet: 127.0.0.1',
        'client-subnet-always-forward: yes',
        'max-client-subnet-ipv4: 24',
        // unbound answers the special-use TLD test. itself (RFC 6761 §6.2) unless told not to.
        'local-zone: "test." nodefault',
        ...anchors.map((a) => `trust-anchor: "${a}"`),
        ...extra,
      ],
      stubs: stubs.map((name) => ({ name, addr: `127.0.0.1@${dnsPort}` })),
    }),
  );
  daemons.push(startDaemon('unbound', ['-d', '-c', conf]));
  await waitFor(async () => (await dig(port, [stubs[0]!, 'SOA'])).includes('status:'), 15_000, 200);
  return port;
}

/** dig through a validator: the status and whether AD was set. */
async function validated(port: number, args: string[]): Promise<{ status: string; ad: boolean; out: string }> {
  const out = await dig(port, [...args, '+dnssec', '+tries=1', '+time=3']);
  const flags = /;; flags: ([^;]*);/.exec(out)?.[1] ?? '';
  return { status: /status: (\w+)/.exec(out)?.[1] ?? 'none', ad: flags.split(' ').includes('ad'), out };
}

const canRun = hasCommand('unbound') && hasCommand('delv') && hasCommand('dig');

describe.skipIf(!canRun)('signed answers validate in a real resolver', () => {
  let node: RunningNode;
  let zones: string;
  let state: string;
  let port: number;
  let ds: string;
  let target: Target;
  let backup: Target;
  const targetPort = 18_000 + Math.floor(Math.random() * 2000);

  beforeAll(async () => {
    zones = tempDir('meridian-dnssec-zones-');
    state = tempDir('meridian-dnssec-state-');
    target = new Target('127.0.0.41', targetPort);
    await target.start();
    backup = new Target('127.0.0.42', targetPort);
    await backup.start();
    fs.writeFileSync(path.join(zones, 'signed.test.yaml'), SIGNED.replace('PORT', String(targetPort)));
    node = await startTestNode(zones, { stateDir: state });
    const status = await api(node, 'GET', '/v1/zones/signed.test/dnssec');
    expect(status.json).toMatchObject({ signed: true, source: 'document', algorithm: 'ecdsap256sha256' });
    ds = status.json.ds[0].replace(/ \d+ IN DS /, ' DS ');
    port = await startValidator([ds], ['signed.test'], node.dns.port);
  }, 30_000);
  afterAll(async () => {
    await node?.stop();
    await target?.stop();
    await backup?.stop();
  });

  it.each([
    ['a static A', ['www.signed.test', 'A'], 'NOERROR', /192\.0\.2\.1/],
    ['a CNAME chain, link by link', ['portal.signed.test', 'A'], 'NOERROR', /web\.signed\.test\.[\s\S]*www\.signed\.test\.[\s\S]*192\.0\.2\.2/],
    ['a wildcard answer', ['anything.apps.signed.test', 'A'], 'NOERROR', /192\.0\.2\.100/],
    ['a wildcard two labels down', ['x.y.apps.signed.test', 'A'], 'NOERROR', /192\.0\.2\.100/],
    ['NXDOMAIN, compact (RFC 9824: NOERROR and an NXNAME NSEC)', ['missing.signed.test', 'A'], 'NOERROR', /NSEC/],
    ['NODATA', ['www.signed.test', 'MX'], 'NOERROR', /NSEC/],
    ['an empty non-terminal', ['deep.signed.test', 'A'], 'NOERROR', /NSEC/],
    ['a weighted policy answer', ['split.signed.test', 'A'], 'NOERROR', /198\.51\.100\.[12]/],
    ['the apex DNSKEY', ['signed.test', 'DNSKEY'], 'NOERROR', /DNSKEY\s+257 3 13/],
    ['the absence of a DS at a delegation', ['kid.signed.test', 'DS'], 'NOERROR', /NSEC/],
  ])('AD=1 for %s', async (_what, args, status, pattern) => {
    const r = await validated(port, args as string[]);
    expect(r.status, r.out).toBe(status);
    expect(r.ad, r.out).toBe(true);
    expect(r.out).toMatch(pattern as RegExp);
  });

  it('AD=1 for a geo answer decided on the client subnet (ECS through the resolver)', async () => {
    const eu = await validated(port, ['geo.signed.test', 'A', '+subnet=81.2.69.0/24']);
    expect(eu.ad, eu.out).toBe(true);
    expect(eu.out).toMatch(/203\.0\.113\.1/);
    const us = await validated(port, ['geo.signed.test', 'A', '+subnet=8.8.8.0/24']);
    expect(us.ad, us.out).toBe(true);
    expect(us.out).toMatch(/203\.0\.113\.2/);
  });

  it('AD=1 for a failover answer, before and after its target dies', async () => {
    await waitFor(async () => (await validated(port, ['fo.signed.test', 'A'])).out.match(/127\.0\.0\.41/), 15_000, 250);
    const before = await validated(port, ['fo.signed.test', 'A']);
    expect(before.ad, before.out).toBe(true);
    await target.stop();
    const after = await waitFor(
      async () => {
        const r = await validated(port, ['fo.signed.test', 'A']);
        return /127\.0\.0\.42/.test(r.out) ? r : null;
      },
      15_000,
      250,
    );
    expect(after.ad, after.out).toBe(true);
  });

  it('SERVFAIL when the trust anchor is wrong', async () => {
    const wrong = ds.replace(/[0-9A-F]{8}$/, (h) => (h === '00000000' ? '11111111' : '00000000'));
    const bad = await startValidator([wrong], ['signed.test'], node.dns.port);
    const r = await validated(bad, ['www.signed.test', 'A']);
    expect(r.status, r.out).toBe('SERVFAIL');
  });

  it('delv with the same anchor: fully validated', async () => {
    const dnskey = (await dig(node.dns.port, ['signed.test', 'DNSKEY', '+short'])).trim().split(/\s+/);
    const anchor = path.join(tempDir('meridian-delv-'), 'anchor.conf');
    fs.writeFileSync(anchor, `trust-anchors {\n  signed.test. static-key ${dnskey[0]} ${dnskey[1]} ${dnskey[2]} "${dnskey.slice(3).join('')}";\n};\n`);
    for (const [name, type] of [
      ['www.signed.test', 'A'],
      ['portal.signed.test', 'A'],
      ['z.apps.signed.test', 'A'],
      ['split.signed.test', 'A'],
    ]) {
      const { stdout, stderr } = await run('delv', ['-a', anchor, '+root=signed.test', '@127.0.0.1', '-p', String(node.dns.port), name!, type!]);
      expect(stdout + stderr, `${name} ${type}`).toContain('; fully validated');
    }
    for (const [name, type] of [
      ['nothing.signed.test', 'A'],
      ['www.signed.test', 'SRV'],
    ]) {
      const { stdout, stderr } = await run('delv', ['-a', anchor, '+root=signed.test', '@127.0.0.1', '-p', String(node.dns.port), name!, type!]).catch(
        (e: { stdout: string; stderr: string }) => e,
      );
      expect(stdout + stderr, `${name} ${type}`).toContain('negative response, fully validated');
    }
  });

  it.skipIf(!hasCommand('dnsviz'))('dnsviz probe and grok with the trust anchor: no errors, no warnings', async () => {
    const dir = tempDir('meridian-dnsviz-');
    // Debian 12's dnsviz looks for pygraphviz.release, which pygraphviz 1.7 no longer has.
    fs.writeFileSync(
      path.join(dir, 'sitecustomize.py'),
      "import sys, types\nimport pygraphviz\nm = types.ModuleType('pygraphviz.release'); m.version = pygraphviz.__version__\nsys.modules['pygraphviz.release'] = m; pygraphviz.release = m\n",
    );
    const env = { ...process.env, PYTHONPATH: dir };
    const names = [
      'signed.test',
      'www.signed.test',
      'portal.signed.test',
      'q.apps.signed.test',
      'missing.signed.test',
      'deep.signed.test',
      'split.signed.test',
    ];
    const probe = await run('dnsviz', ['probe', '-A', '-x', `signed.test+:ns1.signed.test=127.0.0.1:${node.dns.port}`, ...names], { env, maxBuffer: 1 << 26 });
    fs.writeFileSync(path.join(dir, 'probe.json'), probe.stdout);
    fs.writeFileSync(path.join(dir, 'keys.txt'), await dig(node.dns.port, ['signed.test', 'DNSKEY', '+noall', '+answer']));
    const grok = await run('sh', ['-c', `dnsviz grok -t keys.txt < probe.json`], { cwd: dir, env, maxBuffer: 1 << 26 });
    const report = JSON.parse(grok.stdout) as Record<string, { status: string }>;
    const problems: string[] = [];
    const walk = (o: unknown, at: string): void => {
      if (Array.isArray(o)) o.forEach((v, i) => walk(v, `${at}[${i}]`));
      else if (o && typeof o === 'object')
        for (const [k, v] of Object.entries(o)) {
          if ((k === 'errors' || k === 'warnings') && Array.isArray(v) && v.length > 0) problems.push(`${at}: ${JSON.stringify(v)}`);
          walk(v, `${at}/${k}`);
        }
    };
    walk(report, '');
    expect(problems).toEqual([]);
    for (const n of names) expect(report[`${n}.`]?.status, n).toBe('NOERROR');
    const statuses = new Set([...grok.stdout.matchAll(/"status": "(\w+)"/g)].map((m) => m[1]));
    expect([...statuses].sort()).toEqual(['NOERROR', 'SECURE', 'VALID']);
  });

  it('answers DO=0 queries without signatures, and NXDOMAIN as NXDOMAIN', async () => {
    const plain = await dig(node.dns.port, ['www.signed.test', 'A']);
    expect(plain).not.toMatch(/RRSIG/);
    expect(await dig(node.dns.port, ['missing.signed.test', 'A'])).toContain('status: NXDOMAIN');
  });

  it('keeps its keys across a restart: the same DS before and after', async () => {
    const before = (await api(node, 'GET', '/v1/zones/signed.test/dnssec')).json.ds;
    await node.stop();
    node = await startTestNode(zones, { stateDir: state });
    expect((await api(node, 'GET', '/v1/zones/signed.test/dnssec')).json.ds).toEqual(before);
    const keyFile = path.join(state, 'dnssec', 'signed.test.json');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    // The API never shows a private key.
    expect(JSON.stringify((await api(node, 'GET', '/v1/zones/signed.test/dnssec')).json)).not.toMatch(/PRIVATE KEY/);
  });
});

const PARENT = `
zone: roll.test
ttl: 2
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 2, ttl: 2 }
ns: [ns1]
dnssec: { dnskey_ttl: 2s }
records:
  - { name: ns1, type: A, value: 127.0.0.1 }
  - { name: kids, type: NS, value: ns1.roll.test. }
`;

const CHILD = `
zone: kids.roll.test
ttl: 2
soa: { mname: ns1.roll.test., rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 2, ttl: 2 }
ns: [ns1.roll.test.]
dnssec: { dnskey_ttl: 2s }
records:
  - { name: www, type: A, value: 192.0.2.55 }
`;

describe.skipIf(!canRun)('a key rollover keeps a delegated chain validating throughout', () => {
  it('publishes, swaps, moves the DS at the parent and completes, with AD=1 on every poll', async () => {
    const zones = tempDir('meridian-roll-zones-');
    const state = tempDir('meridian-roll-state-');
    fs.writeFileSync(path.join(zones, 'roll.test.yaml'), PARENT);
    fs.writeFileSync(path.join(zones, 'kids.roll.test.yaml'), CHILD);
    const node = await startTestNode(zones, { stateDir: state });
    try {
      const child = (await api(node, 'GET', '/v1/zones/kids.roll.test/dnssec')).json;
      const parentDs = (await api(node, 'GET', '/v1/zones/roll.test/dnssec')).json.ds[0].replace(/ \d+ IN DS /, ' DS ');
      const setChildDs = async (records: string[]): Promise<void> => {
        const values = records.map((r) => r.replace(/^.* IN DS /, ''));
        const res = await api(node, 'PUT', '/v1/zones/roll.test/records/kids/DS', { name: 'kids', type: 'DS', values });
        expect(res.status, JSON.stringify(res.json)).toBeLessThan(300);
      };
      const createDs = async (records: string[]): Promise<void> => {
        const values = records.map((r) => r.replace(/^.* IN DS /, ''));
        const res = await api(node, 'POST', '/v1/zones/roll.test/records', { name: 'kids', type: 'DS', values });
        expect(res.status, JSON.stringify(res.json)).toBeLessThan(300);
      };
      await createDs(child.ds);
      const port = await startValidator([parentDs], ['roll.test'], node.dns.port);
      const first = await validated(port, ['www.kids.roll.test', 'A']);
      expect(first.ad, first.out).toBe(true);

      // Poll all the way through; every answer must validate.
      let polls = 0;
      const failures: string[] = [];
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const r = await validated(port, ['www.kids.roll.test', 'A']);
          polls++;
          if (!r.ad || r.status !== 'NOERROR') failures.push(r.out);
          await new Promise((res) => setTimeout(res, 150));
        }
      })();

      const started = await api(node, 'POST', '/v1/zones/kids.roll.test/dnssec/rollover', { propagation_delay: '1s' });
      expect(started.status).toBe(200);
      expect(started.json.keys.map((k: { state: string }) => k.state).sort()).toEqual(['active', 'published']);
      // The CDS names both keys now, so the parent may add the new DS early.
      const ro = started.json.rollover;
      expect(started.json.ds).toHaveLength(2);
      // Too early to withdraw the old key.
      expect((await api(node, 'POST', '/v1/zones/kids.roll.test/dnssec/rollover', { step: 'complete' })).status).toBe(409);

      // Wait for the new key to sign, then give the parent only the new DS (what CDS says now).
      await waitFor(
        async () => (await api(node, 'GET', '/v1/zones/kids.roll.test/dnssec')).json.keys.some((k: any) => k.tag === ro.new_tag && k.state === 'active'),
        15_000,
        200,
      );
      const swapped = (await api(node, 'GET', '/v1/zones/kids.roll.test/dnssec')).json;
      expect(swapped.ds).toHaveLength(1);
      expect(swapped.ds[0]).toContain(` ${ro.new_tag} 13 2 `);
      await setChildDs(swapped.ds);
      await new Promise((res) => setTimeout(res, Math.max(0, Date.parse(ro.complete_after) - Date.now()) + 3000));
      const done = await api(node, 'POST', '/v1/zones/kids.roll.test/dnssec/rollover', { step: 'complete' });
      expect(done.status, JSON.stringify(done.json)).toBe(200);
      expect(done.json.keys.map((k: { tag: number }) => k.tag)).toEqual([ro.new_tag]);
      await new Promise((res) => setTimeout(res, 3000));
      polling = false;
      await poller;
      expect(failures, failures[0]).toEqual([]);
      expect(polls).toBeGreaterThan(20);
      // The old key is gone from the DNSKEY RRset.
      const keys = await dig(node.dns.port, ['kids.roll.test', 'DNSKEY', '+short']);
      expect(keys.trim().split('\n')).toHaveLength(1);
    } finally {
      await node.stop();
    }
  }, 60_000);
});

describe.skipIf(!canRun)('signing through the API', () => {
  it('signs a master-file zone on request; refuses without --state, changing nothing', async () => {
    const zones = tempDir('meridian-api-zones-');
    fs.copyFileSync(path.join(import.meta.dirname, '../../zones/example.net.zone'), path.join(zones, 'example.net.zone'));
    // No --state: nowhere durable for keys.
    const bare = await startTestNode(zones);
    try {
      const refused = await api(bare, 'POST', '/v1/zones/example.net/dnssec', {});
      expect(refused.status).toBe(409);
      expect(refused.json.code).toBe('MRD_ERR_DNSSEC_NO_STATE');
      expect((await api(bare, 'GET', '/v1/zones/example.net/dnssec')).json).toMatchObject({ signed: false, keys: [] });
      // A zone document asking for signing is refused as a write too.
      const doc = { zone: 'new.test', soa: { mname: 'ns1', rname: 'h', serial: 1, refresh: 60, retry: 60, expire: 600, minimum: 5 }, ns: ['ns1'], dnssec: {} };
      const write = await api(bare, 'POST', '/v1/zones', doc);
      expect(write.status).toBe(409);
      expect(write.json.code).toBe('MRD_ERR_DNSSEC_NO_STATE');
      expect((await api(bare, 'GET', '/v1/zones/new.test')).status).toBe(404);
      expect(await dig(bare.dns.port, ['www.example.net', 'A', '+dnssec'])).not.toMatch(/RRSIG/);
    } finally {
      await bare.stop();
    }

    const node = await startTestNode(zones, { stateDir: tempDir('meridian-api-state-') });
    try {
      const enabled = await api(node, 'POST', '/v1/zones/example.net/dnssec', { algorithm: 'ed25519', dnskey_ttl: '10m' });
      expect(enabled.status, JSON.stringify(enabled.json)).toBe(201);
      expect(enabled.json).toMatchObject({ signed: true, source: 'api', algorithm: 'ed25519', dnskey_ttl: 600 });
      const keys = (await dig(node.dns.port, ['example.net', 'DNSKEY', '+short'])).trim().split(/\s+/);
      expect(keys.slice(0, 3)).toEqual(['257', '3', '15']);
      const anchor = path.join(tempDir('meridian-delv-'), 'anchor.conf');
      fs.writeFileSync(anchor, `trust-anchors {\n  example.net. static-key 257 3 15 "${keys.slice(3).join('')}";\n};\n`);
      for (const name of ['www.example.net', 'portal.example.net', 'x.apps.example.net']) {
        const { stdout, stderr } = await run('delv', ['-a', anchor, '+root=example.net', '@127.0.0.1', '-p', String(node.dns.port), name, 'A']);
        expect(stdout + stderr, name).toContain('; fully validated');
      }
      // Signed zones are not transferred: a secondary could not sign for them.
      expect(await dig(node.dns.port, ['example.net', 'AXFR', '+tcp'])).toMatch(/Transfer failed|REFUSED/);
      // Disabling deletes the keys; answers are unsigned again.
      const disabled = await api(node, 'DELETE', '/v1/zones/example.net/dnssec');
      expect(disabled.json).toMatchObject({ signed: false, keys: [] });
      expect(await dig(node.dns.port, ['www.example.net', 'A', '+dnssec'])).not.toMatch(/RRSIG/);
      expect(await dig(node.dns.port, ['example.net', 'AXFR', '+tcp'])).toMatch(/IN\s+SOA/);
    } finally {
      await node.stop();
    }
  });
});
