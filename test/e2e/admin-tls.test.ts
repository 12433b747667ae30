/**
 * The admin API over TLS (admin/tls.ts), with a CA and certificates made by the openssl CLI at
 * test time: `meridian ctl` and `meridian checker --node` verify the certificate against the CA
 * (--api-ca, --node-ca) and refuse without it; a renewed certificate is served without a restart
 * (on change, and on SIGHUP); a pair that does not belong together is refused at start and never
 * replaces the pair in force; and the admin API does not listen beyond loopback over plain HTTP
 * unless told the network is trusted.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEtcdTls as makeTestPki, type EtcdTlsFiles } from '../support/etcd.js';
import { freePort, repoRoot, spawnMeridian, tempZones, waitFor, type MeridianProcess } from '../support/tools.js';

const run = promisify(execFile);
const main = path.join(repoRoot, 'dist/main.js');
const procs: MeridianProcess[] = [];
const dirs: string[] = [];
let pki: EtcdTlsFiles;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-admin-tls-'));
  dirs.push(dir);
  // A CA, and a server certificate it signed for IP 127.0.0.1.
  pki = makeTestPki(dir);
});
afterAll(() => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function ctl(api: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [main, 'ctl', '--api', api, ...args], {
      env: { ...process.env, MERIDIAN_TOKEN: '', MERIDIAN_API_CA: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The SHA-256 fingerprint of the certificate the server at `port` presents now. */
function presented(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', ca: fs.readFileSync(pki.ca) }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on('error', reject);
  });
}

/** A new server certificate for 127.0.0.1 from the same CA, in `name`.pem / `name`.key. */
function renew(name: string): { cert: string; key: string } {
  const f = (n: string) => path.join(dir, n);
  const ssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`]);
  fs.writeFileSync(f(`${name}.ext`), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  ssl([
    'x509',
    '-req',
    '-in',
    f(`${name}.csr`),
    '-CA',
    pki.ca,
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f(`${name}.pem`),
    '-days',
    '1',
    '-extfile',
    f(`${name}.ext`),
  ]);
  return { cert: f(`${name}.pem`), key: f(`${name}.key`) };
}

/** A zone whose one endpoint has a tcp check (against a port nobody listens on: the votes say down). */
function checkedZone(port: number): string {
  const zones = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-tls-zone-'));
  dirs.push(zones);
  fs.writeFileSync(
    path.join(zones, 'tls.test.yaml'),
    `zone: tls.test
ttl: 60
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 60 }
ns: [ns1]
records:
  - { name: ns1, type: A, value: 192.0.2.53 }
checks:
  - { id: t, type: tcp, port: ${port}, interval: 1s, timeout: 500ms }
regions:
  - { id: r1, location: { lat: 50, lon: 8 }, country: DE }
pools:
  - id: p
    check: t
    endpoints:
      - { id: a, address: 127.0.0.21, region: r1 }
policies:
  - { name: app, type: A, policy: { pool: p } }
`,
  );
  return zones;
}

describe('the admin API over TLS', () => {
  let p: MeridianProcess;
  let checkPort: number;
  let api: string;
  let certFile: string;
  let keyFile: string;
  beforeAll(async () => {
    // The files the node reads, which the tests replace as a renewal would.
    certFile = path.join(dir, 'admin.pem');
    keyFile = path.join(dir, 'admin.key');
    fs.copyFileSync(pki.cert, certFile);
    fs.copyFileSync(pki.key, keyFile);
    checkPort = await freePort();
    const zones = checkedZone(checkPort);
    p = await spawnMeridian(['--zones', zones, '--no-checks', '--admin-tls-cert', certFile, '--admin-tls-key', keyFile]);
    procs.push(p);
    api = `https://127.0.0.1:${p.adminPort}`;
  });

  it("ctl verifies the certificate against --api-ca, reads and writes (with the node's own token, found over HTTPS)", async () => {
    const list = await ctl(api, '--api-ca', pki.ca, 'zones', 'list');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/tls\.test\./);
    const drain = await ctl(api, '--api-ca', pki.ca, 'drain', 'p/a', '--reason', 'tls test');
    expect(drain.code, drain.stderr).toBe(0);
    expect((await ctl(api, '--api-ca', pki.ca, 'overrides', 'list')).stdout).toMatch(/endpoint:p\/a\s+drain\s+local/);
    expect((await ctl(api, '--api-ca', pki.ca, 'undrain', 'p/a')).code).toBe(0);
  });

  it('ctl refuses a certificate it cannot verify, and says how to fix it; plain HTTP gets no answer', async () => {
    const r = await ctl(api, 'zones', 'list');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /cannot reach the admin API at https:\/\/127\.0\.0\.1:\d+ \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/,
    );
    expect(r.stderr).toContain('give --api-ca FILE');
    // A CA that did not sign it is refused too.
    const stranger = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-other-ca-'));
    dirs.push(stranger);
    expect((await ctl(api, '--api-ca', makeTestPki(stranger).ca, 'zones', 'list')).code).toBe(1);
    const plain = await ctl(`http://127.0.0.1:${p.adminPort}`, 'zones', 'list');
    expect(plain.code).toBe(1);
  });

  it("meridian checker --node https:// delivers its votes, verifying with --node-ca (and finds the node's own token)", async () => {
    const checker = (ca: string[]) => {
      const child = spawn(process.execPath, [main, 'checker', '--region', 'tls-vantage', '--zones', checkedZone(checkPort), '--node', api, ...ca], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, MERIDIAN_TOKEN: '' },
      });
      const out: string[] = [];
      child.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
      child.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
      return { child, out };
    };
    const votes = async (): Promise<string[]> => {
      const r = await ctl(api, '--api-ca', pki.ca, '--json', 'regions', 'status', 'r1');
      const detail = (JSON.parse(r.stdout) as { endpoints_detail: { votes: { checker: string }[] }[] }).endpoints_detail;
      return detail.flatMap((e) => e.votes.map((v) => v.checker));
    };
    // Without the CA the checker cannot deliver: it says so, and retries.
    const blind = checker([]);
    try {
      await waitFor(async () => blind.out.join('').includes('node unreachable, retrying'), 15_000);
      expect(blind.out.join('')).toMatch(/CERT|certificate/);
      expect(await votes()).toEqual([]);
    } finally {
      blind.child.kill('SIGTERM');
    }
    const c = checker(['--node-ca', pki.ca]);
    try {
      await waitFor(async () => (await votes()).includes('tls-vantage'), 15_000, 250);
    } finally {
      c.child.kill('SIGTERM');
    }
  }, 40_000);

  it('a renewed certificate is served without a restart: on change, and on SIGHUP', async () => {
    const before = await presented(p.adminPort);
    const next = renew('renewed');
    // Replaced as certbot does: the key, then the certificate, each by rename.
    fs.copyFileSync(next.key, `${keyFile}.new`);
    fs.renameSync(`${keyFile}.new`, keyFile);
    fs.copyFileSync(next.cert, `${certFile}.new`);
    fs.renameSync(`${certFile}.new`, certFile);
    await waitFor(async () => (await presented(p.adminPort)) !== before, 15_000, 250);
    await waitFor(async () => p.logs.some((l) => l.includes('admin TLS certificate reloaded')));
    expect((await ctl(api, '--api-ca', pki.ca, 'zones', 'list')).code).toBe(0);

    // A pair that does not belong together (this key is not the certificate's) is refused, and the pair in force stays.
    const third = renew('third');
    fs.copyFileSync(third.cert, certFile);
    p.child.kill('SIGHUP');
    await waitFor(async () => p.logs.some((l) => l.includes('"msg":"reloaded"') && l.includes('"tls":"failed"')), 10_000);
    const serving = await presented(p.adminPort);
    expect(serving).not.toBe(before);
    // Now the key too, and SIGHUP: the third certificate is served.
    fs.copyFileSync(third.key, keyFile);
    p.child.kill('SIGHUP');
    await waitFor(async () => (await presented(p.adminPort)) !== serving, 10_000, 200);
    expect((await ctl(api, '--api-ca', pki.ca, 'zones', 'list')).code).toBe(0);
  }, 40_000);
});

describe('the admin API beyond loopback', () => {
  const TOKENS = { MERIDIAN_TOKENS: `ops:write:${'t'.repeat(32)}` };

  it('refuses plain HTTP beyond loopback, naming the fix; --admin-trusted-network allows it with a warning', async () => {
    const zones = tempZones();
    dirs.push(zones);
    await expect(spawnMeridian(['--zones', zones, '--admin', '0.0.0.0:0'], TOKENS)).rejects.toThrow(/plain HTTP.*--admin-tls-cert.*--admin-trusted-network/s);
    const p = await spawnMeridian(['--zones', zones, '--admin', '0.0.0.0:0', '--admin-trusted-network'], TOKENS);
    procs.push(p);
    expect(p.logs.some((l) => l.includes('"level":40') && l.includes('tokens cross the network in clear text'))).toBe(true);
    expect((await fetch(`http://127.0.0.1:${p.adminPort}/livez`)).status).toBe(200);
  });

  it('serves TLS beyond loopback without any flag', async () => {
    const zones = tempZones();
    dirs.push(zones);
    const port = await freePort();
    const p = await spawnMeridian(['--zones', zones, '--admin', `0.0.0.0:${port}`, '--admin-tls-cert', pki.cert, '--admin-tls-key', pki.key], TOKENS);
    procs.push(p);
    const r = await ctl(`https://127.0.0.1:${p.adminPort}`, '--api-ca', pki.ca, '--token', 't'.repeat(32), 'zones', 'list');
    expect(r.code, r.stderr).toBe(0);
  });

  it('refuses at start a certificate and key that do not belong together, or only one of the two', async () => {
    const zones = tempZones();
    dirs.push(zones);
    const other = renew('mismatch');
    await expect(spawnMeridian(['--zones', zones, '--admin-tls-cert', pki.cert, '--admin-tls-key', other.key])).rejects.toThrow(
      /do not make a certificate and its key/,
    );
    await expect(spawnMeridian(['--zones', zones, '--admin-tls-cert', pki.cert])).rejects.toThrow(/--admin-tls-cert and --admin-tls-key together/);
  });
});
