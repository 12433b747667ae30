/**
 * Delegation for real: unbound, a real recursive resolver, is pointed at Meridian with stub-zones
 * and resolves names through it; BIND's named runs as a secondary and transfers a zone by AXFR.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, freePort, hasCommand, startTestNode, waitFor } from '../support/tools.js';
import { namedSecondaryConf, startDaemon, stopDaemon, unboundConf } from '../support/daemons.js';
import type { RunningNode } from '../../src/node/node.js';

let node: RunningNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(() => node.stop());

describe.skipIf(!hasCommand('unbound'))('unbound resolves through a stub-zone to Meridian', () => {
  let unbound: ChildProcess;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-unbound-'));
    const conf = path.join(dir, 'unbound.conf');
    fs.writeFileSync(
      conf,
      unboundConf(dir, port, {
        server: [
          'verbosity: 1',
          // A small buffer, so a large answer comes back TC=1 and unbound must retry over TCP.
          'edns-buffer-size: 512',
          'max-udp-size: 512',
          'harden-referral-path: no',
        ],
        stubs: [
          { name: 'example.net', addr: `127.0.0.1@${node.dns.port}` },
          { name: 'gslb.example.org', addr: `127.0.0.1@${node.dns.port}` },
        ],
      }),
    );
    unbound = startDaemon('unbound', ['-d', '-c', conf]);
    await waitFor(async () => (await dig(port, ['www.example.net', 'A', '+short'])).includes('192.0.2.80'), 15_000, 200);
  });
  afterAll(() => stopDaemon(unbound));

  it('resolves an address', async () => {
    const out = await dig(port, ['www.example.net', 'A', '+short']);
    expect(out.trim().split('\n').sort()).toEqual(['192.0.2.80', '192.0.2.81']);
  });

  it('follows a CNAME chain', async () => {
    // +short prints the chain in order (portal → web → www), then www's addresses in any order.
    const lines = (await dig(port, ['portal.example.net', 'A', '+short'])).trim().split('\n');
    expect(lines.slice(0, 2)).toEqual(['web.example.net.', 'www.example.net.']);
    expect(lines.slice(2).sort()).toEqual(['192.0.2.80', '192.0.2.81']);
  });

  it('caches and returns NXDOMAIN', async () => {
    const out = await dig(port, ['missing.example.net', 'A']);
    expect(out).toContain('status: NXDOMAIN');
    expect(out).toMatch(/example\.net\.\s+\d+\s+IN\s+SOA/);
  });

  it('resolves a wildcard', async () => {
    const out = await dig(port, ['anything.apps.example.net', 'A', '+short']);
    expect(out.trim()).toBe('192.0.2.100');
  });

  it('gets a large answer that needed TC=1 and a retry over TCP', async () => {
    const out = await dig(port, ['big.example.net', 'A', '+tcp', '+short']);
    expect(out.trim().split('\n')).toHaveLength(40);
  });

  it('resolves names in the YAML zone', async () => {
    const out = await dig(port, ['www.gslb.example.org', 'A', '+short']);
    expect(out).toContain('192.0.2.10');
  });
});

const named = ['/usr/sbin/named', '/usr/bin/named'].find((p) => fs.existsSync(p));

describe.skipIf(!named)('BIND named as a secondary', () => {
  let child: ChildProcess;
  let port: number;
  let dir: string;
  beforeAll(async () => {
    port = await freePort();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-named-'));
    fs.chmodSync(dir, 0o777);
    const conf = path.join(dir, 'named.conf');
    fs.writeFileSync(conf, namedSecondaryConf(dir, port, node.dns.port, ['example.net', 'gslb.example.org']));
    child = startDaemon(named!, ['-g', '-c', conf, '-n', '1']);
  });
  afterAll(() => stopDaemon(child));

  it('transfers the zones by AXFR and serves them with the same serial', async () => {
    const primary = await dig(node.dns.port, ['example.net', 'SOA', '+short']);
    const serial = primary.trim().split(/\s+/)[2];
    expect(serial).toBe('2026112401');
    const secondary = await waitFor(
      async () => {
        const out = await dig(port, ['example.net', 'SOA', '+norec']);
        return out.includes('status: NOERROR') && out.includes(' aa') ? out : null;
      },
      20_000,
      250,
    );
    expect(secondary).toContain(serial);
    // The secondary answers from its own copy: data, delegation and wildcard all came across.
    expect((await dig(port, ['www.example.net', 'A', '+short'])).trim().split('\n').sort()).toEqual(['192.0.2.80', '192.0.2.81']);
    expect(await dig(port, ['host.sub.example.net', 'A', '+norec'])).toMatch(/AUTHORITY: 2/);
    expect((await dig(port, ['x.apps.example.net', 'A', '+short'])).trim()).toBe('192.0.2.100');
    const yaml = await waitFor(async () => (await dig(port, ['app.gslb.example.org', 'A', '+short'])).trim() || null, 20_000, 250);
    expect(yaml.split('\n').sort()).toEqual(['192.0.2.10', '192.0.2.11']);
  });
});
