/**
 * DNSSEC in a three-node cluster (real etcd, real `meridian serve` processes): the keys live in
 * etcd, so every node signs with the same keys and validates under one DS. Nodes that start
 * together on a zone that asks for signing make one key set between them (create-if-absent; the
 * others adopt it), signing enabled through one node's API reaches the others, and a rollover
 * started on one node is seen, and carried out at the same moment, by all.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, hasCommand, repoRoot, spawnMeridian, waitFor, type MeridianProcess } from '../support/tools.js';
import { hasEtcd, startEtcd, type TestEtcd } from '../support/etcd.js';
import { bearer, localToken } from '../support/api.js';

const run = promisify(execFile);

const ZONE = (name: string, signed: boolean) => `
zone: ${name}
ttl: 5
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5, ttl: 5 }
ns: [ns1]
${signed ? 'dnssec: { dnskey_ttl: 2s }\n' : ''}records:
  - { name: ns1, type: A, value: 127.0.0.1 }
  - { name: www, type: A, value: 192.0.2.1 }
regions:
  - { id: eu, location: { lat: 50, lon: 8 }, country: DE }
pools:
  - id: p
    endpoints: [ { id: a, address: 198.51.100.1, region: eu }, { id: b, address: 198.51.100.2, region: eu } ]
policies:
  - { name: lb, type: A, ttl: 1, policy: { weighted: { pool: p } } }
`;

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

function meridian(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist/main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

async function api(n: MeridianProcess, method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
  const auth = method === 'GET' ? {} : bearer(localToken(n.tokenFile));
  const res = await fetch(`http://127.0.0.1:${n.adminPort}${p}`, {
    method,
    headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() };
}

/** delv against one node with `dnskeys` (dig +short lines) as the trust anchor of `zone`. */
async function delv(n: MeridianProcess, zone: string, dnskeys: string[], name: string, type = 'A'): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-delv-'));
  dirs.push(dir);
  const lines = dnskeys.map((k) => {
    const [flags, proto, alg, ...key] = k.split(/\s+/);
    return `  ${zone}. static-key ${flags} ${proto} ${alg} "${key.join('')}";`;
  });
  fs.writeFileSync(path.join(dir, 'anchor.conf'), `trust-anchors {\n${lines.join('\n')}\n};\n`);
  const r = await run('delv', ['-a', path.join(dir, 'anchor.conf'), `+root=${zone}`, '@127.0.0.1', '-p', String(n.dnsPort), name, type]).catch(
    (e: { stdout: string; stderr: string }) => e,
  );
  return r.stdout + r.stderr;
}

const keysOf = async (n: MeridianProcess, zone: string): Promise<string[]> =>
  (await dig(n.dnsPort, [zone, 'DNSKEY', '+short'])).trim().split('\n').filter(Boolean).sort();

describe.skipIf(!hasCommand('delv'))('DNSSEC across a three-node cluster', () => {
  it('one key set for all nodes: the same DS everywhere, every node validates under it', async () => {
    const prefix = `/dnssec-${process.pid}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-dnssec-cl-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'sig.test.yaml'), ZONE('sig.test', true));
    fs.writeFileSync(path.join(dir, 'later.test.yaml'), ZONE('later.test', false));
    const imported = await meridian(['cluster', 'import', '--etcd', etcd.url, '--etcd-prefix', prefix, '--zones', dir]);
    expect(imported.code, imported.out).toBe(0);

    // Three nodes at once: each sees a zone that asks for signing and no keys in etcd.
    const nodes = await Promise.all(
      ['n1', 'n2', 'n3'].map((id) => spawnMeridian(['--etcd', etcd.url, '--etcd-prefix', prefix, '--node-id', id, '--region', 'eu', '--lease-ttl', '3'])),
    );
    procs.push(...nodes.map((n) => n.child));
    const ds = await Promise.all(
      nodes.map((n) =>
        waitFor(async () => {
          const s = await api(n, 'GET', '/v1/zones/sig.test/dnssec');
          return s.json.signed && s.json.ds.length === 1 ? (s.json.ds[0] as string) : null;
        }, 10_000),
      ),
    );
    expect(new Set(ds).size).toBe(1);
    const keys = await keysOf(nodes[0]!, 'sig.test');
    expect(keys).toHaveLength(1);
    for (const n of nodes) {
      expect(await keysOf(n, 'sig.test')).toEqual(keys);
      expect(await delv(n, 'sig.test', keys, 'www.sig.test')).toContain('; fully validated');
      expect(await delv(n, 'sig.test', keys, 'lb.sig.test')).toContain('; fully validated');
      expect(await delv(n, 'sig.test', keys, 'nope.sig.test')).toContain('negative response, fully validated');
    }

    // Enabled through node 2's API: nodes 1 and 3 sign it with the same key at once.
    const enabled = await api(nodes[1]!, 'POST', '/v1/zones/later.test/dnssec', {});
    expect(enabled.status, JSON.stringify(enabled.json)).toBe(201);
    expect(enabled.json.source).toBe('api');
    for (const n of [nodes[0]!, nodes[2]!]) {
      await waitFor(async () => (await api(n, 'GET', '/v1/zones/later.test/dnssec')).json.signed, 5_000);
      expect((await api(n, 'GET', '/v1/zones/later.test/dnssec')).json.ds).toEqual(enabled.json.ds);
      expect(await delv(n, 'later.test', await keysOf(nodes[1]!, 'later.test'), 'www.later.test')).toContain('; fully validated');
    }

    // A rollover started on node 3 publishes the new key on every node, and every node swaps.
    const started = await api(nodes[2]!, 'POST', '/v1/zones/sig.test/dnssec/rollover', { propagation_delay: '1s' });
    expect(started.status, JSON.stringify(started.json)).toBe(200);
    const newTag = started.json.rollover.new_tag as number;
    for (const n of nodes) await waitFor(async () => (await keysOf(n, 'sig.test')).length === 2, 5_000);
    for (const n of nodes) {
      await waitFor(
        async () => (await api(n, 'GET', '/v1/zones/sig.test/dnssec')).json.keys.find((k: any) => k.tag === newTag)?.state === 'active',
        10_000,
        200,
      );
      const sig = await dig(n.dnsPort, ['www.sig.test', 'A', '+dnssec', '+short']);
      expect(sig).toContain(` ${newTag} sig.test.`);
      // Old anchor still validates: the DNSKEY RRset is signed by both keys.
      expect(await delv(n, 'sig.test', keys, 'www.sig.test')).toContain('; fully validated');
    }
  }, 90_000);
});
