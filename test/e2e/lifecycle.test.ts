/**
 * Process lifecycle of `meridian serve`: SIGTERM and SIGINT stop it cleanly with exit code 0,
 * even with a TCP client connected (RFC 7766 connections are closed on stop), and startup logs
 * what is served.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ask } from '../support/dns-client.js';
import { shippedZones, spawnMeridian, type MeridianProcess } from '../support/tools.js';

let proc: MeridianProcess | undefined;
afterEach(() => {
  if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
  proc = undefined;
});

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms))]);
}

describe('meridian serve lifecycle', () => {
  it('logs the zones, record counts and bound addresses at startup', async () => {
    proc = await spawnMeridian(['--zones', shippedZones]);
    const line = proc.logs
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return null;
        }
      })
      .find((r) => r?.['msg'] === 'meridian serving')!;
    expect(line['dns']).toBe(`127.0.0.1:${proc.dnsPort}`);
    expect(line['admin']).toBe(`127.0.0.1:${proc.adminPort}`);
    expect(line['zones']).toEqual(expect.arrayContaining([expect.objectContaining({ zone: 'example.net.', records: expect.any(Number) })]));
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}: stops accepting, exits 0`, async () => {
      proc = await spawnMeridian(['--zones', shippedZones]);
      expect((await ask(proc.dnsPort, 'www.example.net', 'A')).rcode).toBe('NOERROR');
      proc.child.kill(signal);
      expect(await within(proc.exited, 5000, 'exit')).toBe(0);
      expect(proc.logs.join('\n')).toContain('"msg":"stopped"');
    });
  }

  it('an idle TCP client does not keep the process alive after SIGTERM', async () => {
    proc = await spawnMeridian(['--zones', shippedZones, '--tcp-idle-timeout', '600000']);
    const sock = net.connect(proc.dnsPort, '127.0.0.1');
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    // Half a message: a length prefix promising more than is sent (RFC 7766 §8 framing).
    sock.write(Buffer.from([0, 40, 1, 2, 3]));
    sock.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    proc.child.kill('SIGTERM');
    expect(await within(proc.exited, 5000, 'exit')).toBe(0);
    await within(closed, 2000, 'client close');
  });
});
