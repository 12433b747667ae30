/**
 * `meridian serve --geoip-db FILE` as a real process (docs/policies/geo.md, "Geolocation
 * database"): the synthetic MaxMind DB of test/fixtures/geo places ECS clients, with the scope of
 * the database block (RFC 7871 §7.2.1); replacing the file while serving moves answers without a
 * restart and without a failed query; a corrupt file (on change, on SIGHUP, at start) keeps the
 * database in force and says why; `/v1/simulate` and `meridian check` name the database.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ask } from '../support/dns-client.js';
import { dig, repoRoot, spawnMeridian, waitFor, type MeridianProcess } from '../support/tools.js';

const FIXTURES = path.join(repoRoot, 'test/fixtures/geo');
const MAIN = path.join(repoRoot, 'dist/main.js');

const procs: MeridianProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    if (p.child.exitCode === null) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  }
});

const ZONE = `
zone: geo.test
ttl: 60
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 60 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
regions:
  - { id: fra, location: { lat: 50.11, lon: 8.68 }, country: DE }
  - { id: iad, location: { lat: 39.04, lon: -77.49 }, country: US }
  - { id: nrt, location: { lat: 35.69, lon: 139.69 }, country: JP }
pools:
  - { id: fra, endpoints: [ { id: a, address: 192.0.2.10, region: fra } ] }
  - { id: iad, endpoints: [ { id: a, address: 198.51.100.10, region: iad } ] }
  - { id: nrt, endpoints: [ { id: a, address: 203.0.113.10, region: nrt } ] }
  - { id: other, endpoints: [ { id: a, address: 192.0.2.99, region: fra } ] }
policies:
  - name: www
    type: A
    ttl: 20
    policy:
      geo:
        branches:
          - { match: { countries: [US] }, policy: { pool: iad } }
          - { match: { countries: [JP] }, policy: { pool: nrt } }
          - { match: { continents: [EU] }, policy: { pool: fra } }
        default: { pool: other }
`;

function setup(): { dir: string; zones: string; db: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-geoip-'));
  const zones = path.join(dir, 'zones');
  fs.mkdirSync(zones);
  fs.writeFileSync(path.join(zones, 'geo.test.yaml'), ZONE);
  const db = path.join(dir, 'city.mmdb');
  fs.copyFileSync(path.join(FIXTURES, 'gslb-test-city.mmdb'), db);
  return { dir, zones, db };
}

/** Puts `from` in place of `file` as update tools do: a new file renamed over the old one. */
function replace(file: string, from: string | Buffer): void {
  const tmp = `${file}.new`;
  if (typeof from === 'string') fs.copyFileSync(from, tmp);
  else fs.writeFileSync(tmp, from);
  fs.renameSync(tmp, file);
}

async function serve(args: string[]): Promise<MeridianProcess> {
  const p = await spawnMeridian(args);
  procs.push(p);
  return p;
}

/** The A answer and ECS scope for a client subnet. */
async function www(port: number, subnet: string): Promise<{ answer: string[]; scope: number | undefined }> {
  const [address, prefix] = subnet.split('/');
  const r = await ask(port, 'www.geo.test', 'A', { edns: 1232, ecs: { family: 1, sourcePrefix: Number(prefix), address: address! } });
  if (r.rcode !== 'NOERROR') throw new Error(`rcode ${r.rcode}`);
  const opt = (r.additionals ?? []).find((x) => x.type === 'OPT') as unknown as { options?: { code: number; scopePrefixLength?: number }[] } | undefined;
  return {
    answer: (r.answers ?? []).filter((x) => x.type === 'A').map((x) => String(x.data)),
    scope: opt?.options?.find((o) => o.code === 8)?.scopePrefixLength,
  };
}

function records(p: MeridianProcess): Record<string, unknown>[] {
  return p.logs.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

async function hup(p: MeridianProcess): Promise<Record<string, unknown>> {
  const before = records(p).filter((r) => r['msg'] === 'reloaded').length;
  p.child.kill('SIGHUP');
  return waitFor(async () => records(p).filter((r) => r['msg'] === 'reloaded')[before]);
}

/** Queries without pause until stopped; every query must be answered, with one of `allowed`. */
function pollDns(port: number, subnet: string, allowed: readonly string[]): { stop(): Promise<{ sent: number; failed: string[]; seen: Set<string> }> } {
  let running = true;
  let sent = 0;
  const failed: string[] = [];
  const seen = new Set<string>();
  const loop = (async () => {
    while (running) {
      sent++;
      try {
        const { answer } = await www(port, subnet);
        const a = answer.join(',');
        seen.add(a);
        if (!allowed.includes(a)) failed.push(`answer ${a}`);
      } catch (err) {
        failed.push(String(err));
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { sent, failed, seen };
    },
  };
}

const ASHBURN = '198.51.100.10';
const TOKYO = '203.0.113.10';
const FRANKFURT = '192.0.2.10';

describe('serve --geoip-db', () => {
  it('places ECS clients by the file: 198.51.100.0/24 in Ashburn, 203.0.113.0/24 in Tokyo, with the block as scope', async () => {
    const s = setup();
    const p = await serve(['--zones', s.zones, '--geoip-db', s.db, '--no-checks']);
    expect(await www(p.dnsPort, '198.51.100.0/24')).toEqual({ answer: [ASHBURN], scope: 24 });
    expect(await www(p.dnsPort, '203.0.113.0/24')).toEqual({ answer: [TOKYO], scope: 24 });
    expect(await www(p.dnsPort, '192.0.2.0/24')).toEqual({ answer: [FRANKFURT], scope: 24 });
    // RFC 7871 §7.2.1: a /16 inside 10.0.0.0/8 (Tokyo) holds for the whole /8; a /28 in 100.64.0.0/10 for the /10.
    expect(await www(p.dnsPort, '10.20.0.0/16')).toEqual({ answer: [TOKYO], scope: 8 });
    expect(await www(p.dnsPort, '100.64.1.16/28')).toEqual({ answer: [ASHBURN], scope: 10 });
    // Outside every block: the default, scoped to the empty block around the client.
    expect((await www(p.dnsPort, '8.8.8.0/24')).answer).toEqual(['192.0.2.99']);
    // A real tool sees the same.
    const out = await dig(p.dnsPort, ['www.geo.test', 'A', '+subnet=203.0.113.0/24', '+short']);
    expect(out.trim()).toBe(TOKYO);
    const full = await dig(p.dnsPort, ['www.geo.test', 'A', '+subnet=198.51.100.0/24']);
    expect(full).toMatch(/CLIENT-SUBNET: 198\.51\.100\.0\/24\/24/);

    // The simulator names the database that answered.
    const sim = (await (await fetch(`http://127.0.0.1:${p.adminPort}/v1/simulate?name=www.geo.test&client=198.51.100.0/24`)).json()) as {
      explanation: {
        geolocation: { country: string; city: string; database: string; geoip_block_prefix: number };
        geo_database: { kind: string; name: string; type: string };
      };
    };
    expect(sim.explanation.geo_database).toMatchObject({ kind: 'file', name: s.db, type: 'GeoIP2-City' });
    expect(sim.explanation.geolocation).toMatchObject({ country: 'US', city: 'Ashburn', database: s.db, geoip_block_prefix: 24 });
  });

  it('a replaced file moves answers without a restart and without a failed query; a corrupt one keeps the database in force', async () => {
    const s = setup();
    const p = await serve(['--zones', s.zones, '--geoip-db', s.db, '--no-checks']);
    expect((await www(p.dnsPort, '198.51.100.0/24')).answer).toEqual([ASHBURN]);
    const pid = p.child.pid;

    // The swapped database: 198.51.100.0/24 is in Tokyo now. Picked up by the file watch (about a second).
    const poll = pollDns(p.dnsPort, '198.51.100.0/24', [ASHBURN, TOKYO]);
    replace(s.db, path.join(FIXTURES, 'gslb-test-city-swapped.mmdb'));
    await waitFor(async () => (await www(p.dnsPort, '198.51.100.0/24')).answer[0] === TOKYO, 10_000, 50);
    expect((await www(p.dnsPort, '203.0.113.0/24')).answer).toEqual([ASHBURN]);
    await new Promise((r) => setTimeout(r, 300));
    const moved = await poll.stop();
    expect(moved.failed).toEqual([]);
    expect(moved.sent).toBeGreaterThan(20);
    expect(moved.seen).toEqual(new Set([ASHBURN, TOKYO]));
    expect(records(p).some((r) => r['msg'] === 'geoip database loaded' && r['file'] === s.db)).toBe(true);

    // A corrupt file (the first half of the original): refused, logged, the swapped data stays.
    const good = fs.readFileSync(path.join(FIXTURES, 'gslb-test-city.mmdb'));
    const poll2 = pollDns(p.dnsPort, '198.51.100.0/24', [TOKYO]);
    replace(s.db, good.subarray(0, good.length >> 1));
    await waitFor(async () => records(p).find((r) => String(r['msg']).startsWith('geoip database rejected')), 10_000, 50);
    // A tree pointing past the end: corrupt in the middle instead of cut short.
    const scrambled = Buffer.from(good);
    scrambled.fill(0xff, 0, 64);
    replace(s.db, scrambled);
    await waitFor(async () => records(p).filter((r) => String(r['msg']).startsWith('geoip database rejected')).length >= 2, 10_000, 50);
    const kept = await poll2.stop();
    expect(kept.failed).toEqual([]);
    const rejected = records(p).filter((r) => String(r['msg']).startsWith('geoip database rejected'));
    expect(String(rejected[0]!['err'])).toContain(s.db);
    expect(String(rejected[1]!['err'])).toMatch(/outside the data section|not a MaxMind DB file/);

    // SIGHUP with the corrupt file in place: the reload says so and keeps the database.
    const failedReload = await hup(p);
    expect(failedReload['geoip']).toBe('failed');
    expect((failedReload['errors'] as string[]).join('\n')).toMatch(/geoip: .*; the database in force stays/);
    expect((await www(p.dnsPort, '198.51.100.0/24')).answer).toEqual([TOKYO]);

    // The original back, then SIGHUP: in force (the watch may have been first).
    replace(s.db, path.join(FIXTURES, 'gslb-test-city.mmdb'));
    const line = await hup(p);
    expect(['changed', 'unchanged']).toContain(line['geoip']);
    expect((await www(p.dnsPort, '198.51.100.0/24')).answer).toEqual([ASHBURN]);
    expect((await hup(p))['geoip']).toBe('unchanged');
    expect(p.child.pid).toBe(pid);
    expect(p.child.exitCode).toBeNull();
  });

  it('a corrupt file at start is refused with MRD_ERR_GEOIP_DB, and meridian check says which database would answer', async () => {
    const s = setup();
    fs.writeFileSync(s.db, 'not a database at all');
    const child = spawn(process.execPath, [MAIN, 'serve', '--zones', s.zones, '--geoip-db', s.db, '--dns', '127.0.0.1:0', '--admin', '127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(out).toContain('MRD_ERR_GEOIP_DB');
    expect(out).toContain(s.db);

    const check = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, [MAIN, 'check', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const bad = await check(['--geoip-db', s.db, s.zones]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/MRD_ERR_GEOIP_DB|geoip database refused/);
    fs.copyFileSync(path.join(FIXTURES, 'gslb-test-city.mmdb'), s.db);
    const good = await check(['--geoip-db', s.db, s.zones]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(`geoip: ${s.db} (GeoIP2-City, built `);
    const json = JSON.parse((await check(['--json', '--geoip-db', s.db, s.zones])).stdout) as { geoip: { kind: string; name: string } };
    expect(json.geoip).toMatchObject({ kind: 'file', name: s.db, type: 'GeoIP2-City' });
    const embedded = JSON.parse((await check(['--json', s.zones])).stdout) as { geoip: { kind: string; name: string } };
    expect(embedded.geoip).toMatchObject({ kind: 'embedded', name: expect.stringMatching(/^geoip-lite [0-9.]+$/) });
  });
});
