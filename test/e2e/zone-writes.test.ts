/**
 * Writes that cannot overwrite unseen changes, and master files that stay master files (issue
 * 12, items 4 and 7), with real processes: `meridian serve` on a copy of the shipped zones,
 * `meridian ctl` as an operator runs it, the admin API over HTTP, and dig for what DNS answers.
 *
 * - `ctl zones get` writes a meridian-etag first line; `ctl zones apply` sends it as If-Match
 *   (RFC 9110 §13.1.1), so a file read before someone else's change gets 412, exits 1 and
 *   changes nothing; a fresh get+apply works; a file without the line needs --force. The same
 *   for a master-file zone (the line is a `;` comment, RFC 1035 §5.1).
 * - An API write to example.net (zones/example.net.zone) writes example.net.zone back as an RFC
 *   1035 master file with the managed header; no example.net.yaml appears; dig answers the new
 *   record; a write that needs YAML (a policy record) is refused with MRD_ERR_API_MASTER_FILE.
 * - In cluster mode the same: the example.net key in etcd stays master-file text.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, repoRoot, shippedZones, spawnMeridian, tempZones, type MeridianProcess } from '../support/tools.js';
import { startEtcd } from '../support/etcd.js';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { silentLogger } from '../../src/log.js';
import { loadZoneText } from '../../src/zone/load.js';
import { MANAGED_MASTER_HEADER } from '../../src/zone/export.js';
import { apiRequest, bearer, localToken, type ApiResponse } from '../support/api.js';

const run = promisify(execFile);
let proc: MeridianProcess;
let zones: string;
let work: string;

beforeAll(async () => {
  zones = tempZones();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-writes-'));
  proc = await spawnMeridian(['--zones', zones]);
});
afterAll(async () => {
  proc?.child.kill('SIGTERM');
  await proc?.exited;
  for (const d of [zones, work]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function ctl(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [path.join(repoRoot, 'dist/main.js'), 'ctl', '--api', `http://127.0.0.1:${proc.adminPort}`, ...args],
      { env: { ...process.env, MERIDIAN_API: '', MERIDIAN_TOKEN: '' } },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as Result;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function api(method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse & { etag: string | null }> {
  // The node runs with no token configured: writes carry the token it made (ctl finds it itself).
  const own = method === 'GET' ? {} : bearer(localToken(proc.tokenFile));
  const res = await apiRequest(`http://127.0.0.1:${proc.adminPort}${p}`, method, body, { ...own, ...headers });
  return { ...res, etag: res.headers.get('etag') };
}

/** dig +short, sorted lines. */
async function short(name: string, type = 'A'): Promise<string[]> {
  return (await dig(proc.dnsPort, ['+short', name, type])).trim().split('\n').filter(Boolean).sort();
}

const file = (name: string) => path.join(work, name);

describe('ctl zones apply: a YAML zone', () => {
  it('the stale apply: get, someone POSTs a record, apply the old file → 412, exit 1, the record is still there', async () => {
    const got = await ctl('zones', 'get', 'gslb.example.org');
    expect(got.code, got.stderr).toBe(0);
    const etag = (await api('GET', '/v1/zones/gslb.example.org')).etag!;
    expect(got.stdout.split('\n')[0]).toBe(`# meridian-etag: ${etag}`);
    // What follows the line is the zone file as served, byte for byte.
    expect(got.stdout.slice(got.stdout.indexOf('\n') + 1)).toBe(fs.readFileSync(path.join(zones, 'gslb.example.org.yaml'), 'utf8'));
    fs.writeFileSync(file('stale.yaml'), got.stdout.replace('records:\n', 'records:\n  - { name: mine, type: A, value: 192.0.2.201 }\n'));

    const posted = await api('POST', '/v1/zones/gslb.example.org/records', { name: 'theirs', type: 'A', value: '192.0.2.202' });
    expect(posted.status).toBe(201);
    const afterPost = (await api('GET', '/v1/zones/gslb.example.org')).etag;
    expect(await short('theirs.gslb.example.org')).toEqual(['192.0.2.202']);

    const stale = await ctl('zones', 'apply', file('stale.yaml'));
    expect(stale.code).toBe(1);
    expect(stale.stdout).toBe('');
    expect(stale.stderr).toContain('the zone changed since you read it');
    expect(stale.stderr).toContain(`read at ETag ${etag}`);
    expect(stale.stderr).toContain('meridian ctl zones get gslb.example.org');
    expect(stale.stderr).toContain('--force');
    // Nothing changed: their record stays, mine never arrived, the ETag is the same.
    expect(await short('theirs.gslb.example.org')).toEqual(['192.0.2.202']);
    expect(await short('mine.gslb.example.org')).toEqual([]);
    expect((await api('GET', '/v1/zones/gslb.example.org')).etag).toBe(afterPost);
  });

  it('a fresh get, the same edit, apply: replaced; both records answer; the old ETag line is now stale', async () => {
    const got = await ctl('zones', 'get', 'gslb.example.org');
    fs.writeFileSync(file('fresh.yaml'), got.stdout.replace('records:\n', 'records:\n  - { name: mine, type: A, value: 192.0.2.201 }\n'));
    const applied = await ctl('zones', 'apply', file('fresh.yaml'));
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^replaced gslb\.example\.org\., serial \d+\n$/);
    expect(await short('mine.gslb.example.org')).toEqual(['192.0.2.201']);
    expect(await short('theirs.gslb.example.org')).toEqual(['192.0.2.202']);
    // Applying the same file twice: the first apply changed the zone, so the second is stale.
    const twice = await ctl('zones', 'apply', file('fresh.yaml'));
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('the zone changed since you read it');
  });

  it('a file without the etag line is refused for an existing zone, and replaces it with --force (and says so)', async () => {
    const got = await ctl('zones', 'get', 'gslb.example.org');
    const bare = got.stdout.slice(got.stdout.indexOf('\n') + 1).replace('records:\n', 'records:\n  - { name: forced, type: A, value: 192.0.2.203 }\n');
    fs.writeFileSync(file('bare.yaml'), bare);
    const etagBefore = (await api('GET', '/v1/zones/gslb.example.org')).etag;
    const refused = await ctl('zones', 'apply', file('bare.yaml'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('has no meridian-etag line');
    expect(refused.stderr).toContain('--force');
    expect((await api('GET', '/v1/zones/gslb.example.org')).etag).toBe(etagBefore);
    expect(await short('forced.gslb.example.org')).toEqual([]);

    const forced = await ctl('zones', 'apply', '--force', file('bare.yaml'));
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/^replaced gslb\.example\.org\., serial \d+ \(--force: replaced without checking/);
    expect(await short('forced.gslb.example.org')).toEqual(['192.0.2.203']);
  });
});

describe('ctl zones apply: a master-file zone', () => {
  it('get prints the master file with a ; etag line; the stale apply is refused; fresh works; no line needs --force', async () => {
    const got = await ctl('zones', 'get', 'example.net');
    expect(got.code, got.stderr).toBe(0);
    const etag = (await api('GET', '/v1/zones/example.net')).etag!;
    expect(got.stdout.split('\n')[0]).toBe(`; meridian-etag: ${etag}`);
    // The shipped file as it is on disk, comments and all.
    expect(got.stdout.slice(got.stdout.indexOf('\n') + 1)).toBe(fs.readFileSync(path.join(zones, 'example.net.zone'), 'utf8'));
    fs.writeFileSync(file('stale.zone'), `${got.stdout}mine-mf  IN  A  192.0.2.211\n`);

    expect((await api('POST', '/v1/zones/example.net/records', { name: 'theirs-mf', type: 'A', value: '192.0.2.212' })).status).toBe(201);
    const stale = await ctl('zones', 'apply', file('stale.zone'));
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('the zone changed since you read it');
    expect(await short('theirs-mf.example.net')).toEqual(['192.0.2.212']);
    expect(await short('mine-mf.example.net')).toEqual([]);

    const fresh = await ctl('zones', 'get', 'example.net');
    expect(fresh.stdout.startsWith('; meridian-etag: "')).toBe(true);
    fs.writeFileSync(file('fresh.zone'), `${fresh.stdout}mine-mf  IN  A  192.0.2.211\n`);
    const applied = await ctl('zones', 'apply', file('fresh.zone'));
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^replaced example\.net\., serial \d+\n$/);
    expect(await short('mine-mf.example.net')).toEqual(['192.0.2.211']);
    expect(await short('theirs-mf.example.net')).toEqual(['192.0.2.212']);
    // Still a master file.
    expect(fs.existsSync(path.join(zones, 'example.net.zone'))).toBe(true);
    expect(fs.existsSync(path.join(zones, 'example.net.yaml'))).toBe(false);

    const bare = fresh.stdout.slice(fresh.stdout.indexOf('\n') + 1) + 'bare-mf  IN  A  192.0.2.213\n';
    fs.writeFileSync(file('example.net.zone'), bare);
    const refused = await ctl('zones', 'apply', file('example.net.zone'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('has no meridian-etag line');
    expect(await short('bare-mf.example.net')).toEqual([]);
    const forced = await ctl('zones', 'apply', '--force', file('example.net.zone'));
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('--force');
    expect(await short('bare-mf.example.net')).toEqual(['192.0.2.213']);
    // --force replaced it with the file: the record applied from the stale copy is gone.
    expect(await short('mine-mf.example.net')).toEqual([]);
  });

  it('a master file with an error reports the line of the file (the etag line counted), and changes nothing', async () => {
    const got = await ctl('zones', 'get', 'example.net');
    const lines = got.stdout.split('\n');
    fs.writeFileSync(file('bad.zone'), `${got.stdout}oops IN A 300.1.2.3\n`);
    const etag = (await api('GET', '/v1/zones/example.net')).etag;
    const r = await ctl('zones', 'apply', file('bad.zone'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`line ${lines.length}:`);
    expect((await api('GET', '/v1/zones/example.net')).etag).toBe(etag);
  });
});

describe('an API write to a master-file zone keeps it a master file', () => {
  it('POST a record to example.net: example.net.zone is rewritten as RFC 1035 text with the managed header, no YAML appears, dig answers', async () => {
    const before = fs.readdirSync(zones).sort();
    const r = await api('POST', '/v1/zones/example.net/records', { name: 'api-added', type: 'AAAA', values: ['2001:db8::a1', '2001:db8::a2'] });
    expect(r.status).toBe(201);
    expect(fs.readdirSync(zones).sort()).toEqual(before);
    expect(fs.existsSync(path.join(zones, 'example.net.yaml'))).toBe(false);
    const text = fs.readFileSync(path.join(zones, 'example.net.zone'), 'utf8');
    expect(text.startsWith(`${MANAGED_MASTER_HEADER}\n$ORIGIN example.net.\n`)).toBe(true);
    expect(text).toMatch(/^api-added\.example\.net\.\t3600\tIN\tAAAA\t2001:db8::a1$/m);
    expect(await short('api-added.example.net', 'AAAA')).toEqual(['2001:db8::a1', '2001:db8::a2']);
    // The file re-parses to the zone the API serves.
    const loaded = loadZoneText(text, path.join(zones, 'example.net.zone'));
    expect(loaded.ok).toBe(true);
    const served = await api('GET', '/v1/zones/example.net');
    expect(loaded.ok && loaded.zone.serial).toBe(served.json.soa.serial);
    expect(await short('portal.example.net')).toEqual(['192.0.2.80', '192.0.2.81', 'web.example.net.', 'www.example.net.'].sort());
    expect((await dig(proc.dnsPort, ['+short', 'unknown.example.net', 'TYPE65280'])).trim()).toBe('\\# 4 C0000201');
    // The list still calls it a master file, served from the .zone file.
    const listed = (await api('GET', '/v1/zones')).json.zones.find((z: { name: string }) => z.name === 'example.net.');
    expect(listed).toMatchObject({ format: 'master', file: path.join(zones, 'example.net.zone') });
    // The export in its own format is the file, byte for byte.
    expect((await api('GET', '/v1/zones/example.net/export?format=zone')).text).toBe(text);
  });

  it('a delete and a whole-zone PUT also write the master file; a policy record is refused (422, MRD_ERR_API_MASTER_FILE) and changes nothing', async () => {
    expect((await api('DELETE', '/v1/zones/example.net/records/api-added/AAAA')).status).toBe(204);
    expect(fs.readFileSync(path.join(zones, 'example.net.zone'), 'utf8')).not.toContain('api-added');
    expect(await short('api-added.example.net', 'AAAA')).toEqual([]);

    const g = await api('GET', '/v1/zones/example.net');
    const doc = structuredClone(g.json);
    doc.records.push({ name: 'put-added', type: 'TXT', value: '"via PUT"' });
    expect((await api('PUT', '/v1/zones/example.net', doc, { 'if-match': g.etag! })).status).toBe(200);
    expect(fs.readFileSync(path.join(zones, 'example.net.zone'), 'utf8')).toMatch(/^put-added\.example\.net\.\t3600\tIN\tTXT\t"via PUT"$/m);
    expect(await short('put-added.example.net', 'TXT')).toEqual(['"via PUT"']);

    const fileBefore = fs.readFileSync(path.join(zones, 'example.net.zone'), 'utf8');
    const etagBefore = (await api('GET', '/v1/zones/example.net')).etag;
    const policy = await api('POST', '/v1/zones/example.net/records', { name: 'lb', type: 'A', policy: { pool: 'web' } });
    expect(policy.status).toBe(422);
    expect(policy.json.code).toBe('MRD_ERR_API_MASTER_FILE');
    expect(policy.json.detail).toContain('example.net.zone');
    expect(policy.json.errors.map((e: { field: string }) => e.field)).toEqual(['policies']);
    const withRegions = { ...doc, soa: { ...doc.soa, serial: doc.soa.serial + 10 }, regions: [{ id: 'r1', location: { lat: 0, lon: 0 }, country: 'DE' }] };
    const put = await api('PUT', '/v1/zones/example.net', withRegions);
    expect(put.status).toBe(422);
    expect(put.json.code).toBe('MRD_ERR_API_MASTER_FILE');
    expect(fs.readFileSync(path.join(zones, 'example.net.zone'), 'utf8')).toBe(fileBefore);
    expect((await api('GET', '/v1/zones/example.net')).etag).toBe(etagBefore);
    expect(fs.existsSync(path.join(zones, 'example.net.yaml'))).toBe(false);
  });

  it("import honours the text's own etag line and If-None-Match: *; a new zone imported is a master file", async () => {
    const got = await ctl('zones', 'get', 'example.net');
    expect((await api('POST', '/v1/zones/example.net/records', { name: 'between', type: 'A', value: '192.0.2.220' })).status).toBe(201);
    // The line is the If-Match when the request sends none.
    const stale = await api('POST', '/v1/zones/import', got.stdout);
    expect(stale.status).toBe(412);
    expect(await short('between.example.net')).toEqual(['192.0.2.220']);
    const exists = await api('POST', '/v1/zones/import', got.stdout.slice(got.stdout.indexOf('\n') + 1), { 'if-none-match': '*' });
    expect(exists.status).toBe(412);

    // A master file cannot replace a zone that holds policies: that would drop them.
    const etagG = (await api('GET', '/v1/zones/gslb.example.org')).etag;
    const exported = await api('GET', '/v1/zones/gslb.example.org/export?format=zone');
    const over = await api('POST', '/v1/zones/import', exported.text, { 'if-match': etagG! });
    expect(over.status).toBe(422);
    expect(over.json.code).toBe('MRD_ERR_API_MASTER_FILE');
    expect(over.json.errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining(['regions', 'pools', 'policies']));
    expect((await api('GET', '/v1/zones/gslb.example.org')).etag).toBe(etagG);
    expect(fs.existsSync(path.join(zones, 'gslb.example.org.yaml'))).toBe(true);

    const created = await api(
      'POST',
      '/v1/zones/import',
      '$ORIGIN fresh-mf.test.\n@ 300 IN SOA ns1 hostmaster 1 1h 15m 2w 60\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.53\nwww 300 IN A 192.0.2.80\n',
      { 'if-none-match': '*' },
    );
    expect(created.status).toBe(201);
    expect(fs.existsSync(path.join(zones, 'fresh-mf.test.zone'))).toBe(true);
    expect(fs.existsSync(path.join(zones, 'fresh-mf.test.yaml'))).toBe(false);
    expect(await short('www.fresh-mf.test')).toEqual(['192.0.2.80']);
  });
});

describe('cluster mode: a master-file zone in etcd stays master-file text', () => {
  it('an API write to example.net stores RFC 1035 text with the managed header under its key, and ctl get/apply guard it the same way', async () => {
    const etcd = await startEtcd();
    const prefix = `/writes-${process.pid}`;
    let node: MeridianProcess | undefined;
    const reader = new EtcdClient({ endpoints: [etcd.url], log: silentLogger() });
    try {
      await run(process.execPath, [
        path.join(repoRoot, 'dist/main.js'),
        'cluster',
        'import',
        '--etcd',
        etcd.url,
        '--etcd-prefix',
        prefix,
        '--zones',
        shippedZones,
      ]);
      node = await spawnMeridian(['--etcd', etcd.url, '--etcd-prefix', prefix, '--node-id', 'w1', '--region', 'eu', '--no-checks']);
      const a = `http://127.0.0.1:${node.adminPort}`;
      const ctlHere = (...args: string[]) =>
        run(process.execPath, [path.join(repoRoot, 'dist/main.js'), 'ctl', '--api', a, ...args]).then(
          (r) => ({ code: 0, ...r }),
          (e: Result) => e,
        );
      const got = await ctlHere('zones', 'get', 'example.net');
      expect(got.code).toBe(0);
      expect(got.stdout.startsWith('; meridian-etag: "2026112401-')).toBe(true);

      const res = await fetch(`${a}/v1/zones/example.net/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(localToken(node.tokenFile)) },
        body: JSON.stringify({ name: 'in-etcd', type: 'A', value: '192.0.2.230' }),
      });
      expect(res.status).toBe(201);
      const value = (await reader.get(`${prefix}/zones/example.net`))!.value;
      expect(value.startsWith(`${MANAGED_MASTER_HEADER}\n$ORIGIN example.net.\n`)).toBe(true);
      expect(value).not.toMatch(/^zone\s*:/m);
      expect(value).toMatch(/^in-etcd\.example\.net\.\t3600\tIN\tA\t192\.0\.2\.230$/m);
      expect((await dig(node.dnsPort, ['+short', 'in-etcd.example.net', 'A'])).trim()).toBe('192.0.2.230');
      const listed = (await (await fetch(`${a}/v1/zones`)).json()) as { zones: { name: string; format: string }[] };
      expect(listed.zones.find((z) => z.name === 'example.net.')?.format).toBe('master');

      // The copy read before that write is stale here too.
      fs.writeFileSync(file('etcd-stale.zone'), `${got.stdout}mine IN A 192.0.2.231\n`);
      const stale = await ctlHere('zones', 'apply', file('etcd-stale.zone'));
      expect(stale.code).toBe(1);
      expect(stale.stderr).toContain('the zone changed since you read it');
      expect((await reader.get(`${prefix}/zones/example.net`))!.value).toBe(value);
    } finally {
      await reader.close();
      node?.child.kill('SIGTERM');
      await node?.exited;
      await etcd.destroy();
    }
  });
});
