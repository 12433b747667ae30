/**
 * What `--udp-io` and `--workers` do where the native UDP part cannot be had (here: refused with
 * MERIDIAN_NATIVE_UDP=off, as on a machine without a C compiler): `auto` falls back to node:dgram
 * and says so once, in the node's log, not once per worker; `batched` refuses to start
 * (MRD_ERR_UDP_IO, exit 1); `--workers 2` shares the port through node:dgram and node:net on a
 * Node that has `reusePort` (22.12+), and on Node 20 says why it answers in one process instead.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ask } from '../support/dns-client.js';
import { repoRoot, shippedZones, spawnMeridian, tempTokenFile, type MeridianProcess } from '../support/tools.js';
import { nodeHasReusePort } from '../../src/dns/native.js';
import { parseServeArgs } from '../../src/cli/serve.js';
import os from 'node:os';

const OFF = { MERIDIAN_NATIVE_UDP: 'off' };
const running: MeridianProcess[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) {
    p.child.kill('SIGTERM');
    await p.exited;
  }
});

const records = (p: MeridianProcess): Record<string, unknown>[] =>
  p.logs.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
const said = (p: MeridianProcess, msg: string): number => records(p).filter((r) => r['msg'] === msg).length;

describe('without the native UDP part', () => {
  it('--udp-io auto answers through node:dgram, and says so once', async () => {
    const p = await spawnMeridian(['--zones', shippedZones], OFF);
    running.push(p);
    expect((await ask(p.dnsPort, 'www.example.net', 'A')).answers).toHaveLength(2);
    expect(said(p, 'batched UDP path unavailable; answering UDP through node:dgram')).toBe(1);
    expect(records(p).find((r) => r['msg'] === 'meridian serving')).toMatchObject({ dns_processes: { workers: 0, udp_io: 'dgram' } });
    const metrics = await (await fetch(`http://127.0.0.1:${p.adminPort}/metrics`)).text();
    expect(metrics).toContain('meridian_dns_udp_io{io="dgram"} 1');
  });

  it('--udp-io batched refuses to start: MRD_ERR_UDP_IO, exit 1, with the reason', async () => {
    const child = spawn(
      process.execPath,
      // Its own write token goes to a temporary file, never beside the checkout's zones.
      [
        path.join(repoRoot, 'dist/main.js'),
        'serve',
        '--zones',
        shippedZones,
        '--admin-token-file',
        tempTokenFile(),
        '--dns',
        '127.0.0.1:0',
        '--admin',
        '127.0.0.1:0',
        '--udp-io',
        'batched',
      ],
      {
        env: { ...process.env, ...OFF },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(1);
    expect(out).toContain('MRD_ERR_UDP_IO');
    expect(out).toContain('MERIDIAN_NATIVE_UDP=off');
  });

  it(`--workers 2: ${nodeHasReusePort() ? 'two workers on node:dgram and node:net (this Node has reusePort), the fallback said once' : 'one process on Node 20, and the node says why'}`, async () => {
    const p = await spawnMeridian(['--zones', shippedZones, '--workers', '2'], OFF);
    running.push(p);
    expect((await ask(p.dnsPort, 'www.example.net', 'A')).answers).toHaveLength(2);
    expect((await ask(p.dnsPort, 'www.example.net', 'A', { transport: 'tcp' })).answers).toHaveLength(2);
    expect(said(p, 'batched UDP path unavailable; answering UDP through node:dgram')).toBe(1);
    const serving = records(p).find((r) => r['msg'] === 'meridian serving');
    if (nodeHasReusePort()) {
      expect(serving).toMatchObject({ dns_processes: { workers: 2, udp_io: 'dgram' } });
      expect(said(p, 'dns worker serving')).toBe(2);
    } else {
      expect(serving).toMatchObject({ dns_processes: { workers: 0, udp_io: 'dgram' } });
      const warn = records(p).find((r) => typeof r['msg'] === 'string' && (r['msg'] as string).startsWith('DNS workers share the port with SO_REUSEPORT'));
      expect(warn).toMatchObject({ level: 40, workers_asked: 2 });
    }
  });
});

describe('the options', () => {
  it('--workers takes 1 to 256 or auto (the cores available); --udp-io one of auto, batched, dgram; a config file may give a number', () => {
    expect(parseServeArgs([], {})!.workers).toBe(1);
    expect(parseServeArgs(['--workers', '4'], {})!.workers).toBe(4);
    expect(parseServeArgs(['--workers', 'auto'], {})!.workers).toBe(os.availableParallelism());
    expect(parseServeArgs([], { MERIDIAN_WORKERS: '3' })!.workers).toBe(3);
    for (const bad of ['0', '257', 'two', '1.5'])
      expect(() => parseServeArgs(['--workers', bad], {}), bad).toThrow(/--workers must be a number from 1 to 256 or auto/);
    expect(() => parseServeArgs([], { MERIDIAN_WORKERS: 'many' })).toThrow(/MERIDIAN_WORKERS/);
    expect(parseServeArgs([], {})!.udpIo).toBe('auto');
    expect(() => parseServeArgs(['--udp-io', 'fast'], {})).toThrow(/one of auto, batched, dgram/);
    expect(parseServeArgs(['--udp-recv-buffer', '0'], {})!.udpRecvBufferBytes).toBe(0);
  });
});
