/**
 * `meridian` as a daemon and as a Unix command, with real processes: SIGHUP reloads zones, tokens
 * and the latency file while DNS keeps answering (polled throughout); a reload that fails keeps the
 * old state; listen failures, a missing zones directory and bad options fail fast with one line;
 * a closed stdout (EPIPE) ends quietly; --version; `check` on files, directories and --json; and
 * options from a config file and the environment, with flag > environment > file > default.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseDocument, isMap, isScalar } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { ask } from '../support/dns-client.js';
import { freePort, repoRoot, shippedZones, spawnMeridian, tempTokenFile, waitFor, type MeridianProcess } from '../support/tools.js';
import { envName, resolveOptions } from '../../src/cli/options.js';
import { SERVE_OPTIONS } from '../../src/cli/serve-options.js';
import { parseServeArgs } from '../../src/cli/serve.js';

const MAIN = path.join(repoRoot, 'dist/main.js');
const pkgVersion = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

const procs: MeridianProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});
async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<MeridianProcess> {
  const p = await spawnMeridian(args, env);
  procs.push(p);
  return p;
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-daemon-'));
}
/** Replaces a file the way editors and deploy tools do: a new file renamed over the old one. */
function writeAtomic(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
/** Runs `meridian ARGS` to its end (killed after 15 s, which fails the test's expectations). */
function run(args: string[], env: NodeJS.ProcessEnv = {}, cwd = repoRoot): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms))]);
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
/** Sends SIGHUP and waits for the `reloaded` line it causes (the n-th one). */
async function hup(p: MeridianProcess): Promise<Record<string, unknown>> {
  const before = records(p).filter((r) => r['msg'] === 'reloaded').length;
  p.child.kill('SIGHUP');
  return waitFor(async () => records(p).filter((r) => r['msg'] === 'reloaded')[before]);
}

const zoneText = (www: string, serial: number): string => `
zone: rl.test
ttl: 60
soa: { mname: ns1, rname: hostmaster, serial: ${serial}, refresh: 1h, retry: 10m, expire: 1w, minimum: 60 }
ns: [ns1]
records:
  - { name: ns1, type: A, value: 192.0.2.53 }
  - { name: www, type: A, value: ${www} }
regions:
  - { id: east, location: { lat: 39.04, lon: -77.49 }, country: US }
  - { id: west, location: { lat: 45.52, lon: -122.68 }, country: US }
policies:
  - name: lat
    type: A
    policy:
      latency:
        regions:
          - { region: east, policy: { pool: east } }
          - { region: west, policy: { pool: west } }
pools:
  - { id: east, endpoints: [ { id: e1, address: 10.9.0.1, region: east } ] }
  - { id: west, endpoints: [ { id: w1, address: 10.9.0.2, region: west } ] }
`;
const latencyText = (east: number, west: number): string => `- { from: 198.51.100.0/24, rtt_ms: { east: ${east}, west: ${west} } }\n`;
const tokensText = (secret: string): string => `- { name: ops, role: read, token: ${secret} }\n`;
const CLIENT = { family: 1 as const, sourcePrefix: 24, address: '198.51.100.0' };

async function a(port: number, name: string, ecs?: typeof CLIENT): Promise<string[]> {
  const r = await ask(port, name, 'A', ecs ? { ecs, edns: 1232 } : {});
  return (r.answers ?? []).filter((x) => x.type === 'A').map((x) => String(x.data));
}
async function status(adminPort: number, token: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/v1/zones`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

/** Polls DNS until stopped; returns how many queries went unanswered or failed. */
function pollDns(port: number): { stop(): Promise<{ sent: number; failed: string[] }> } {
  let running = true;
  let sent = 0;
  const failed: string[] = [];
  const loop = (async () => {
    while (running) {
      sent++;
      try {
        const r = await ask(port, 'ns1.rl.test', 'A', { timeoutMs: 2000 });
        if (r.rcode !== 'NOERROR' || (r.answers ?? []).length === 0) failed.push(`rcode ${r.rcode}`);
      } catch (err) {
        failed.push(String(err));
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { sent, failed };
    },
  };
}

function reloadSetup(): { dir: string; zones: string; latency: string; tokens: string } {
  const dir = tmp();
  const zones = path.join(dir, 'zones');
  fs.mkdirSync(zones);
  writeAtomic(path.join(zones, 'rl.test.yaml'), zoneText('192.0.2.1', 1));
  writeAtomic(path.join(dir, 'latency.yaml'), latencyText(5, 80));
  writeAtomic(path.join(dir, 'tokens.yaml'), tokensText('first-secret-0123456789'));
  return { dir, zones, latency: path.join(dir, 'latency.yaml'), tokens: path.join(dir, 'tokens.yaml') };
}

describe('SIGHUP', () => {
  it('reloads a changed zone, the tokens file and the latency file, answering DNS throughout', async () => {
    const s = reloadSetup();
    const p = await serve(['--zones', s.zones, '--latency', s.latency, '--tokens', s.tokens, '--no-checks']);
    expect(await a(p.dnsPort, 'www.rl.test')).toEqual(['192.0.2.1']);
    expect(await a(p.dnsPort, 'lat.rl.test', CLIENT)).toEqual(['10.9.0.1']);
    expect(await status(p.adminPort, 'first-secret-0123456789')).toBe(200);

    const poll = pollDns(p.dnsPort);
    writeAtomic(path.join(s.zones, 'rl.test.yaml'), zoneText('192.0.2.2', 2));
    writeAtomic(s.latency, latencyText(80, 5));
    writeAtomic(s.tokens, tokensText('second-secret-0123456789'));
    const line = await hup(p);
    // Tokens are read only at start and on SIGHUP, so this reload is the one that changed them.
    expect(line['tokens']).toBe('changed');
    expect(line['level']).toBe(30);
    expect(line['errors']).toBeUndefined();
    // The zone and latency files are also watched: the watcher may have been first, but the
    // reload waits for any scan in flight and rescans, so once it is logged both are in force.
    expect(line['zones']).toMatchObject({ removed: [], failed: [] });
    expect(['changed', 'unchanged']).toContain(line['latency']);
    expect(await a(p.dnsPort, 'www.rl.test')).toEqual(['192.0.2.2']);
    expect(await a(p.dnsPort, 'lat.rl.test', CLIENT)).toEqual(['10.9.0.2']);
    expect(await status(p.adminPort, 'second-secret-0123456789')).toBe(200);
    expect(await status(p.adminPort, 'first-secret-0123456789')).toBe(401);

    // Nothing changed since: a second reload says so.
    const again = await hup(p);
    expect(again).toMatchObject({ zones: { added: [], changed: [], removed: [] }, tokens: 'unchanged', latency: 'unchanged' });

    const { sent, failed } = await poll.stop();
    expect(sent).toBeGreaterThan(0);
    expect(failed).toEqual([]);
    expect(p.child.exitCode).toBeNull();
  });

  it('a reload that fails (bad tokens file, broken zone, bad latency file) keeps the old state and says why', async () => {
    const s = reloadSetup();
    const p = await serve(['--zones', s.zones, '--latency', s.latency, '--tokens', s.tokens, '--no-checks']);
    const poll = pollDns(p.dnsPort);
    writeAtomic(path.join(s.zones, 'rl.test.yaml'), `${zoneText('192.0.2.9', 3)}  - { name: bad, type: A, value: not-an-address }\n`);
    writeAtomic(s.tokens, '- { name: ops, role: admin, token: short }\n');
    writeAtomic(s.latency, '- { from: not-a-network, rtt_ms: { east: 1 } }\n');
    const line = await hup(p);
    expect(line['level']).toBe(40);
    expect(line['tokens']).toBe('failed');
    const errors = line['errors'] as string[];
    expect(errors.some((e) => e.startsWith('tokens:') && e.includes('role'))).toBe(true);
    expect(errors.some((e) => e.includes('rl.test.yaml:'))).toBe(true);
    expect((line['zones'] as { failed: string[] }).failed.join('\n')).toMatch(/rl\.test\.yaml:\d+/);
    // The latency watcher may have refused the file first (then the reload sees no new text).
    expect(['failed', 'unchanged']).toContain(line['latency']);
    expect(await a(p.dnsPort, 'www.rl.test')).toEqual(['192.0.2.1']);
    expect(await a(p.dnsPort, 'lat.rl.test', CLIENT)).toEqual(['10.9.0.1']);
    expect(await status(p.adminPort, 'first-secret-0123456789')).toBe(200);
    const { failed } = await poll.stop();
    expect(failed).toEqual([]);

    // Fixed files are taken by the next reload.
    writeAtomic(s.tokens, tokensText('second-secret-0123456789'));
    expect(await hup(p)).toMatchObject({ tokens: 'changed' });
    expect(await status(p.adminPort, 'second-secret-0123456789')).toBe(200);
  });

  it('SIGHUPs sent during a reload are coalesced, and SIGTERM still stops the process with 0', async () => {
    const s = reloadSetup();
    const p = await serve(['--zones', s.zones, '--tokens', s.tokens, '--no-checks']);
    for (let i = 0; i < 5; i++) p.child.kill('SIGHUP');
    await waitFor(async () => records(p).some((r) => r['msg'] === 'reloaded'));
    // Let any queued reload finish: at most one more runs after the first.
    await new Promise((r) => setTimeout(r, 1000));
    const n = records(p).filter((r) => r['msg'] === 'reloaded').length;
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(2);
    expect(await a(p.dnsPort, 'www.rl.test')).toEqual(['192.0.2.1']);
    p.child.kill('SIGTERM');
    expect(await within(p.exited, 5000, 'exit')).toBe(0);
  });
});

describe('fail fast', () => {
  /** Runs `meridian serve ARGS` expecting it to exit by itself within 5 s. */
  async function serveFails(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
    // A node that gets as far as its write token keeps it in a temporary file, never beside the shipped zones.
    const r = await within(run(['serve', ...args], { MERIDIAN_ADMIN_TOKEN_FILE: tempTokenFile(), ...env }), 5000, 'serve exit');
    return r;
  }

  it('a DNS port taken for UDP exits 1 at once, naming the code and address', async () => {
    const port = await freePort();
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(port, '127.0.0.1', () => r()));
    try {
      const r = await serveFails(['--zones', shippedZones, '--dns', `127.0.0.1:${port}`, '--admin', '127.0.0.1:0']);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining(`MRD_ERR_LISTEN`)]);
      expect(r.stderr).toContain(`udp 127.0.0.1:${port}`);
    } finally {
      sock.close();
    }
  });

  it('a DNS port taken for TCP exits 1 at once, naming the code and address', async () => {
    const port = await freePort();
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    try {
      const r = await serveFails(['--zones', shippedZones, '--dns', `127.0.0.1:${port}`, '--admin', '127.0.0.1:0']);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining(`MRD_ERR_LISTEN`)]);
      expect(r.stderr).toContain(`tcp 127.0.0.1:${port}`);
    } finally {
      server.close();
    }
  });

  it('a second serve on a DNS port in use exits 1', async () => {
    const first = await serve(['--zones', shippedZones]);
    const r = await serveFails(['--zones', shippedZones, '--dns', `127.0.0.1:${first.dnsPort}`, '--admin', '127.0.0.1:0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`MRD_ERR_LISTEN`);
    expect(r.stderr).toContain(`127.0.0.1:${first.dnsPort}`);
  });

  it('an admin port in use exits 1, naming the code and address', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await serveFails(['--zones', shippedZones, '--dns', '127.0.0.1:0', '--admin', `127.0.0.1:${port}`]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining('MRD_ERR_LISTEN')]);
      expect(r.stderr).toContain(`admin 127.0.0.1:${port}`);
    } finally {
      server.close();
    }
  });

  it('a zones directory that does not exist exits 1 with one line', async () => {
    const missing = path.join(tmp(), 'nope');
    const r = await serveFails(['--zones', missing, '--dns', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining(`${missing} does not exist`)]);
  });

  it('a zones directory removed while serving is logged once, and its zones keep serving', async () => {
    const s = reloadSetup();
    const p = await serve(['--zones', s.zones, '--no-checks']);
    fs.rmSync(s.zones, { recursive: true });
    // Room for a few of the 2-second scans, each of which fails.
    await new Promise((r) => setTimeout(r, 5000));
    expect(records(p).filter((r) => String(r['msg']).startsWith('zone scan failed'))).toHaveLength(1);
    expect(await a(p.dnsPort, 'www.rl.test')).toEqual(['192.0.2.1']);
    const line = await hup(p);
    expect((line['errors'] as string[]).join('\n')).toContain(`${s.zones}: ENOENT`);
    fs.mkdirSync(s.zones);
    writeAtomic(path.join(s.zones, 'rl.test.yaml'), zoneText('192.0.2.7', 7));
    await hup(p);
    expect(records(p).some((r) => r['msg'] === 'zone directory readable again')).toBe(true);
    expect(await a(p.dnsPort, 'www.rl.test')).toEqual(['192.0.2.7']);
  });

  it('a bad MERIDIAN_LOG_LEVEL is a usage error: exit 2, one line, no stack', async () => {
    const r = await serveFails(['--zones', shippedZones, '--dns', '127.0.0.1:0', '--admin', '127.0.0.1:0'], { MERIDIAN_LOG_LEVEL: 'verbose' });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('MERIDIAN_LOG_LEVEL');
    expect(lines[0]).toContain('"verbose"');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('bad options, from a flag or a variable, are usage errors naming where they came from', async () => {
    const flag = await serveFails(['--tcp-max-connections', 'lots']);
    expect(flag.code).toBe(2);
    expect(flag.stderr.trim().split('\n')).toEqual([expect.stringContaining('--tcp-max-connections must be an integer')]);
    const env = await serveFails([], { MERIDIAN_DNS: 'localhost:53' });
    expect(env.code).toBe(2);
    expect(env.stderr.trim().split('\n')).toEqual([expect.stringContaining('MERIDIAN_DNS')]);
    const unknown = await serveFails(['--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toEqual([expect.stringContaining("'--bogus'")]);
  });
});

describe('a closed stdout (EPIPE)', () => {
  it('meridian ctl whose reader is gone ends quietly, with no stack on stderr', async () => {
    const p = await serve(['--zones', shippedZones, '--no-checks']);
    const api = `http://127.0.0.1:${p.adminPort}`;
    // The reader closes before the command writes: its first write fails with EPIPE.
    const child = spawn(process.execPath, [MAIN, 'ctl', '--api', api, 'drill', 'preview', '--region', 'eu-west'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await within(new Promise<number | null>((r) => child.on('close', (c) => r(c))), 10_000, 'ctl exit');
    expect(stderr).toBe('');
    expect(code).toBe(0);

    // And as a shell pipeline, the way an operator types it.
    const sh = await within(
      new Promise<Run>((resolve) => {
        const c = spawn(
          'bash',
          ['-c', `set -o pipefail; ${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} ctl --api ${api} drill preview --region eu-west | head -1`],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        let err = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        c.on('close', (codeSh) => resolve({ code: codeSh, stdout: out, stderr: err }));
      }),
      10_000,
      'pipeline',
    );
    expect(sh.stderr).toBe('');
    expect(sh.code).toBe(0);
    expect(sh.stdout.split('\n').filter(Boolean)).toHaveLength(1);
  });
});

describe('meridian --version', () => {
  it('--version and -V print the version from package.json; version --json adds node and platform', async () => {
    for (const flag of ['--version', '-V', 'version']) {
      const r = await run([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${pkgVersion}\n`);
    }
    const j = await run(['version', '--json']);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual({ version: pkgVersion, node: process.versions.node, platform: process.platform, arch: process.arch });
  });
});

describe('meridian check', () => {
  const good = fs.readdirSync(shippedZones).filter((f) => /\.(zone|ya?ml)$/.test(f));

  it('checks one file', async () => {
    const file = path.join(shippedZones, good[0]!);
    const r = await run(['check', file]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^ok .* \\(${file.replace(/[.]/g, '\\.')}\\)$`))]);
  });

  it('checks a directory, and a mix of files and directories', async () => {
    const dir = await run(['check', shippedZones]);
    expect(dir.code).toBe(0);
    expect(dir.stdout.trim().split('\n')).toHaveLength(good.length);
    const extra = tmp();
    fs.writeFileSync(
      path.join(extra, 'broken.test.zone'),
      '$ORIGIN broken.test.\n@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 60\n@ IN NS ns1\nns1 IN A 999.1.1.1\n',
    );
    const mix = await run(['check', path.join(shippedZones, good[0]!), extra]);
    expect(mix.code).toBe(1);
    expect(mix.stderr).toMatch(/broken\.test\.zone:4: /);
    expect(mix.stdout).toContain(`(${path.join(shippedZones, good[0]!)})`);
  });

  it('fails on an empty directory ("no zones found") and on a path that does not exist', async () => {
    const empty = tmp();
    const r = await run(['check', empty]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no zone files found');
    const missing = await run(['check', path.join(empty, 'nope.zone')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such file or directory');
  });

  it('--json lists files, zones and problems with file and line', async () => {
    const dir = tmp();
    fs.copyFileSync(path.join(shippedZones, good[0]!), path.join(dir, good[0]!));
    fs.writeFileSync(
      path.join(dir, 'broken.test.zone'),
      '$ORIGIN broken.test.\n@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 60\n@ IN NS ns1\nns1 IN A 999.1.1.1\n',
    );
    const r = await run(['check', '--json', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as {
      ok: boolean;
      files: string[];
      zones: { zone: string; file: string }[];
      problems: { file: string; line: number; code: string; message: string }[];
    };
    expect(doc.ok).toBe(false);
    expect(doc.files.sort()).toEqual([path.join(dir, 'broken.test.zone'), path.join(dir, good[0]!)].sort());
    expect(doc.zones).toEqual([expect.objectContaining({ file: path.join(dir, good[0]!) })]);
    expect(doc.problems).toEqual([expect.objectContaining({ file: path.join(dir, 'broken.test.zone'), line: 4, code: expect.stringMatching(/^MRD_ERR_/) })]);
    const empty = await run(['check', '--json', tmp()]);
    expect(empty.code).toBe(1);
    expect(JSON.parse(empty.stdout)).toMatchObject({ ok: false, files: [], zones: [], problems: [{ code: 'MRD_ERR_CHECK_NO_ZONES', line: 0 }] });
  });
});

describe('config file and environment', () => {
  const example = path.join(repoRoot, 'meridian.example.yaml');

  it('the shipped example names every serve option and loads', () => {
    const doc = parseDocument(fs.readFileSync(example, 'utf8'));
    expect(isMap(doc.contents)).toBe(true);
    const keys = (doc.contents as { items: { key: unknown }[] }).items.map((i) => (isScalar(i.key) ? String(i.key.value) : ''));
    expect(keys.sort()).toEqual(SERVE_OPTIONS.map((s) => s.name).sort());
    const opts = parseServeArgs(['--config', example], {})!;
    expect(opts.zonesDir).toBe(path.join(repoRoot, 'zones'));
    expect(opts.dns).toEqual({ host: '127.0.0.1', port: 5353 });
    // Every value the example sets is the option's default.
    const r = resolveOptions(SERVE_OPTIONS, ['--config', example], {});
    const defaults = resolveOptions(SERVE_OPTIONS, [], {}, { cwd: repoRoot });
    expect(r.values).toEqual(defaults.values);
  });

  it('help, config keys and variables come from one table: every option is in --help, and variables follow MERIDIAN_<OPTION>', async () => {
    const help = await run(['serve', '--help']);
    expect(help.code).toBe(0);
    for (const s of SERVE_OPTIONS) {
      expect(help.stdout).toContain(`--${s.name}`);
      // The one exception: MERIDIAN_TOKENS already means the tokens themselves.
      expect(s.env).toBe(s.name === 'tokens' ? 'MERIDIAN_TOKENS_FILE' : envName(s.name));
    }
  });

  it('lists are YAML lists or comma-separated text; paths in a file are relative to the file', () => {
    const dir = tmp();
    fs.mkdirSync(path.join(dir, 'z'));
    const file = path.join(dir, 'm.yaml');
    fs.writeFileSync(file, 'zones: ./z\nstate: state\nnotify: [192.0.2.53, "[2001:db8::53]:5300"]\n');
    const o = parseServeArgs(['--config', file], {})!;
    expect(o.zonesDir).toBe(path.join(dir, 'z'));
    expect(o.stateDir).toBe(path.join(dir, 'state'));
    expect(o.notify!.map((t) => `${t.host}:${t.port}`)).toEqual(['192.0.2.53:53', '2001:db8::53:5300']);
    const e = parseServeArgs(['--config', file], { MERIDIAN_NOTIFY: '192.0.2.1,192.0.2.2:5300', MERIDIAN_STATE: 'rel' })!;
    expect(e.notify!.map((t) => `${t.host}:${t.port}`)).toEqual(['192.0.2.1:53', '192.0.2.2:5300']);
    expect(e.stateDir).toBe(path.resolve('rel'));
    expect(() => parseServeArgs(['--config', file], { MERIDIAN_NOTIFY: '192.0.2.1,,x' })).toThrow(/MERIDIAN_NOTIFY/);
  });

  it('a real serve runs from the example file', async () => {
    const p = await serve(['--config', example]);
    expect((await ask(p.dnsPort, 'www.example.net', 'A')).rcode).toBe('NOERROR');
    expect(records(p).find((r) => r['msg'] === 'meridian serving')).toMatchObject({ config: example, region: 'local' });
  });

  it('precedence per option: flag > environment > file > default', async () => {
    const dir = tmp();
    const file = path.join(dir, 'm.yaml');
    fs.writeFileSync(file, `zones: ${shippedZones}\nregion: from-file\ntcp-max-connections: 7\nno-checks: true\n`);
    const regionOf = async (args: string[], env: NodeJS.ProcessEnv): Promise<unknown> => {
      const p = await serve(args, env);
      const region = records(p).find((r) => r['msg'] === 'meridian serving')?.['region'];
      p.child.kill('SIGTERM');
      await p.exited;
      return region;
    };
    expect(await regionOf(['--config', file], {})).toBe('from-file');
    expect(await regionOf(['--config', file], { MERIDIAN_REGION: 'from-env' })).toBe('from-env');
    expect(await regionOf(['--config', file, '--region', 'from-flag'], { MERIDIAN_REGION: 'from-env' })).toBe('from-flag');
    // The config file may also come from MERIDIAN_CONFIG.
    expect(await regionOf([], { MERIDIAN_CONFIG: file })).toBe('from-file');

    // The same rule for every type (resolved as serve resolves it).
    const env = { MERIDIAN_TCP_MAX_CONNECTIONS: '70', MERIDIAN_NO_CHECKS: 'false' };
    const o = (argv: string[], e: NodeJS.ProcessEnv) => parseServeArgs(['--config', file, ...argv], e)!;
    expect(o([], {})).toMatchObject({ tcpMaxConnections: 7, runChecks: false, maxUdpPayload: 1232, region: 'from-file' });
    expect(o([], env)).toMatchObject({ tcpMaxConnections: 70, runChecks: true });
    expect(o(['--tcp-max-connections', '700', '--no-checks'], env)).toMatchObject({ tcpMaxConnections: 700, runChecks: false });
    expect(parseServeArgs([], {})).toMatchObject({ tcpMaxConnections: 1000, runChecks: true, region: 'local' });
  });

  it('an unknown key, or a value of the wrong type, is an error naming the file and line (exit 2)', async () => {
    const dir = tmp();
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, `# a comment\nzones: ${shippedZones}\nzone-dir: ./elsewhere\n`);
    const r = await within(run(['serve', '--config', file]), 5000, 'serve exit');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining(`${file}:3: unknown key "zone-dir"`)]);

    fs.writeFileSync(file, `zones: ${shippedZones}\n\ntcp-max-connections: lots\n`);
    const t = await within(run(['serve', '--config', file]), 5000, 'serve exit');
    expect(t.code).toBe(2);
    expect(t.stderr.trim().split('\n')).toEqual([expect.stringContaining(`${file}:3: tcp-max-connections must be an integer from 1 to 1000000`)]);

    fs.writeFileSync(file, 'checks: false\n');
    const hint = await within(run(['serve', '--config', file]), 5000, 'serve exit');
    expect(hint.code).toBe(2);
    expect(hint.stderr).toContain(`${file}:1: unknown key "checks" (write "no-checks: true")`);

    const missing = await within(run(['serve', '--config', path.join(dir, 'none.yaml')]), 5000, 'serve exit');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('ENOENT');
  });

  it('SIGHUP re-reads the config file: log-level applies at once, other changes are reported as needing a restart', async () => {
    const dir = tmp();
    const file = path.join(dir, 'm.yaml');
    fs.writeFileSync(file, `zones: ${shippedZones}\nno-checks: true\nlog-level: info\n`);
    const p = await serve(['--config', file]);
    fs.writeFileSync(file, `zones: ${shippedZones}\nno-checks: true\nlog-level: warn\ntcp-max-connections: 5\n`);
    const line = await hup(p);
    expect(line).toMatchObject({ config: 'changed', restart: ['tcp-max-connections'] });
    fs.writeFileSync(file, 'zones: [not, a, path]\n');
    // At warn, a refused config reload (level 40) still shows.
    const bad = await hup(p);
    expect(bad['config']).toBe('failed');
    expect((bad['errors'] as string[]).join('\n')).toContain(`${file}:1: zones must be a non-empty string`);
    expect((await ask(p.dnsPort, 'www.example.net', 'A')).rcode).toBe('NOERROR');
  });

  it('meridian checker takes --config and MERIDIAN_* too', async () => {
    const dir = tmp();
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, 'region: from-file\nbogus: 1\n');
    const r = await within(run(['checker', '--config', file]), 5000, 'checker exit');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:2: unknown key "bogus"`);
    fs.writeFileSync(file, 'region: from-file\n');
    const n = await within(run(['checker', '--config', file], { MERIDIAN_NODE: 'not a url' }), 5000, 'checker exit');
    expect(n.code).toBe(2);
    expect(n.stderr).toContain('--node must be a URL');
  });
});
