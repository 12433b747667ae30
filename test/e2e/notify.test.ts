/**
 * DNS NOTIFY (RFC 1996): Meridian tells its secondaries when a zone's SOA serial changes. First a
 * fake secondary on a real loopback UDP socket, which reads the NOTIFY with dns-packet and
 * answers only the second copy (§3.6 retries); then BIND's named as a real secondary, which must
 * pick up a new serial through NOTIFY alone (its SOA refresh is an hour away).
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dnsPacket from 'dns-packet';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Notifier, parseNotifyTargets } from '../../src/dns/notify.js';
import { SnapshotHolder } from '../../src/state/snapshot.js';
import { FileSource } from '../../src/state/file-source.js';
import { loadZoneText } from '../../src/zone/load.js';
import type { Zone } from '../../src/zone/zone.js';
import type { RunningNode } from '../../src/node/node.js';
import { silentLogger } from '../../src/log.js';
import { dig, freePort, shippedZones, startTestNode, tempZones, waitFor } from '../support/tools.js';
import { namedSecondaryConf, startDaemon, stopDaemon } from '../support/daemons.js';

const SERIAL = 2026112401;
const ZONE_FILE = 'example.net.zone';

interface LogLine {
  level: number;
  msg: string;
  zone?: string;
  serial?: number;
  target?: string;
}

/** A pino logger whose lines are kept for the test to read. */
function capturingLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

/** Rewrites the example.net zone file in `dir` with another serial (same length, so only mtime moves). */
function setSerial(dir: string, serial: number): void {
  const file = path.join(dir, ZONE_FILE);
  const text = fs.readFileSync(file, 'utf8');
  const next = text.replace(/\d{10} ; serial/, `${serial} ; serial`);
  expect(next).not.toBe(text);
  fs.writeFileSync(file, next);
}

/** The example.net zone as shipped, with its serial replaced. */
function exampleNet(serial: number): Zone {
  const file = path.join(shippedZones, ZONE_FILE);
  const result = loadZoneText(fs.readFileSync(file, 'utf8').replace(/\d{10} ; serial/, `${serial} ; serial`), file);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('; '));
  return result.zone;
}

interface Received {
  readonly msg: Buffer;
  readonly at: number;
  readonly packet: dnsPacket.Packet;
  readonly from: dgram.RemoteInfo;
}

/** A fake secondary: a UDP socket on loopback that records every datagram and answers as told. */
async function fakeSecondary(
  answer: (n: number, msg: Buffer) => boolean,
  host = '127.0.0.1',
): Promise<{ port: number; socket: dgram.Socket; received: Received[]; close(): Promise<void> }> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const received: Received[] = [];
  socket.on('message', (msg, rinfo) => {
    received.push({ msg, at: Date.now(), packet: dnsPacket.decode(msg), from: rinfo });
    if (!answer(received.length, msg)) return;
    // RFC 1996 §3.3 / §4: the response is the request with QR set, from the port it was sent to.
    const response = Buffer.from(msg);
    response[2] = response[2]! | 0x80;
    socket.send(response, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return {
    port: socket.address().port,
    socket,
    received,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function soaSerial(p: dnsPacket.Packet): number | undefined {
  const soa = p.answers?.find((a) => a.type === 'SOA');
  return soa ? (soa.data as { serial: number }).serial : undefined;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('parseNotifyTargets', () => {
  it('parses HOST:PORT lists, defaulting the port to 53 and bracketing IPv6', () => {
    expect(parseNotifyTargets('192.0.2.1:5300')).toEqual([{ host: '192.0.2.1', port: 5300 }]);
    expect(parseNotifyTargets('192.0.2.1, [2001:db8::1]:53 ,[::1]')).toEqual([
      { host: '192.0.2.1', port: 53 },
      { host: '2001:db8::1', port: 53 },
      { host: '::1', port: 53 },
    ]);
    expect(parseNotifyTargets('2001:db8::2')).toEqual([{ host: '2001:db8::2', port: 53 }]);
    // The same target twice is notified once.
    expect(parseNotifyTargets('127.0.0.1:53,127.0.0.1')).toEqual([{ host: '127.0.0.1', port: 53 }]);
  });

  it('rejects bad input with the usage error parseHostPort raises', () => {
    for (const bad of ['', ' , ', 'ns1.example.net:53', '192.0.2.1:99999', '192.0.2.1:0', '192.0.2.1:x', '192.0.2.1,,192.0.2.2', '[not-v6]:53']) {
      expect(() => parseNotifyTargets(bad), bad).toThrow(expect.objectContaining({ code: 'MRD_ERR_CLI_USAGE' }));
    }
  });
});

describe('Notifier against a fake secondary on loopback', () => {
  it('sends NOTIFY with the new SOA when the zone file changes, retries until answered, then stops', async () => {
    const dir = tempZones();
    const holder = new SnapshotHolder();
    const source = new FileSource({ dir, holder, log: silentLogger(), watch: false });
    await source.start();
    cleanups.push(() => source.stop());
    // Answer only the second copy: the first goes unanswered, so the Notifier must retry.
    const fake = await fakeSecondary((n) => n === 2);
    cleanups.push(() => fake.close());
    const { log, lines } = capturingLogger();
    const notifier = new Notifier({ holder, targets: [{ host: '127.0.0.1', port: fake.port }], log });
    notifier.start();
    cleanups.push(() => notifier.stop());

    // Starting does not notify: the serials served at start are only remembered.
    await source.scan();
    await sleep(300);
    expect(fake.received).toHaveLength(0);

    setSerial(dir, SERIAL + 1);
    await source.scan();
    expect(holder.current.catalog.get('example.net')!.serial).toBe(SERIAL + 1);
    await waitFor(async () => fake.received.length >= 1, 5_000, 20);

    const first = fake.received[0]!.packet;
    expect(first.type).toBe('query'); // QR clear (§3.3)
    expect((first as dnsPacket.Packet & { opcode?: string }).opcode).toBe('NOTIFY');
    expect(first.flags! & dnsPacket.AUTHORITATIVE_ANSWER).toBeTruthy();
    expect(first.questions).toEqual([{ name: 'example.net', type: 'SOA', class: 'IN' }]);
    expect(first.answers).toHaveLength(1);
    expect(first.answers![0]).toMatchObject({ name: 'example.net', type: 'SOA', class: 'IN' });
    expect(soaSerial(first)).toBe(SERIAL + 1);
    expect(first.authorities ?? []).toHaveLength(0);
    expect(first.additionals ?? []).toHaveLength(0);

    // No answer to the first copy: a second one comes about a second later, same ID and bytes.
    await waitFor(async () => fake.received.length >= 2, 5_000, 20);
    const [a, b] = fake.received;
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(800);
    expect(b!.at - a!.at).toBeLessThan(2_000);
    expect(b!.msg.equals(a!.msg)).toBe(true);

    // The second copy was answered: the Notifier logs the acknowledgement and sends no more
    // (the next retry would have come 2 s after the second copy).
    const ack = await waitFor(async () => lines.find((l) => l.msg === 'secondary acknowledged NOTIFY'), 2_000, 20);
    expect(ack).toMatchObject({ level: 30, zone: 'example.net.', serial: SERIAL + 1, target: `127.0.0.1:${fake.port}` });
    await sleep(3_500);
    expect(fake.received).toHaveLength(2);
    // Only the zone whose serial changed was notified.
    expect(fake.received.every((r) => r.packet.questions![0]!.name === 'example.net')).toBe(true);
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
  }, 20_000);

  it('lets a newer serial supersede pending retries, ignores strangers, and gives up with a warning', async () => {
    const holder = new SnapshotHolder([exampleNet(SERIAL)]);
    const fake = await fakeSecondary(() => false); // never answers
    cleanups.push(() => fake.close());
    const { log, lines } = capturingLogger();
    const notifier = new Notifier({ holder, targets: [{ host: '127.0.0.1', port: fake.port }], log, retryDelaysMs: [200, 200, 200] });
    notifier.start();
    cleanups.push(() => notifier.stop());

    holder.swap([exampleNet(SERIAL + 1)]);
    await waitFor(async () => fake.received.length >= 1, 2_000, 10);
    // Responses that do not match (§3.6: ID, QNAME, source address and port) change nothing:
    // the right ID from another port, and a wrong ID from the secondary's own port.
    const first = fake.received[0]!;
    const response = Buffer.from(first.msg);
    response[2] = response[2]! | 0x80;
    const stranger = dgram.createSocket('udp4');
    cleanups.push(() => new Promise<void>((r) => stranger.close(() => r())));
    stranger.send(response, first.from.port, '127.0.0.1');
    const wrongId = Buffer.from(response);
    wrongId.writeUInt16BE((wrongId.readUInt16BE(0) + 1) & 0xffff, 0);
    fake.socket.send(wrongId, first.from.port, '127.0.0.1');
    await waitFor(async () => fake.received.length >= 2, 2_000, 5);
    expect(lines.some((l) => l.msg === 'secondary acknowledged NOTIFY')).toBe(false);

    holder.swap([exampleNet(SERIAL + 2)]);
    const gaveUp = await waitFor(async () => lines.find((l) => l.msg === 'secondary did not answer NOTIFY; giving up'), 5_000, 20);
    expect(gaveUp).toMatchObject({ level: 40, zone: 'example.net.', serial: SERIAL + 2, target: `127.0.0.1:${fake.port}` });
    await sleep(600);

    const serials = fake.received.map((r) => soaSerial(r.packet));
    const firstNew = serials.indexOf(SERIAL + 2);
    expect(firstNew).toBeGreaterThan(0);
    // Once the newer serial was notified, the older one was never sent again.
    expect(serials.slice(firstNew).every((s) => s === SERIAL + 2)).toBe(true);
    expect(serials.filter((s) => s === SERIAL + 2)).toHaveLength(3);
    expect(serials.filter((s) => s === SERIAL + 1)).toHaveLength(2);
    // The superseded NOTIFY was dropped, not given up on; each serial had its own ID.
    expect(lines.filter((l) => l.msg.includes('giving up'))).toHaveLength(1);
    expect(fake.received[firstNew]!.packet.id).not.toBe(fake.received[0]!.packet.id);
  });

  it('notifies an IPv6 target from its own socket', async () => {
    const holder = new SnapshotHolder([exampleNet(SERIAL)]);
    let fake: Awaited<ReturnType<typeof fakeSecondary>>;
    try {
      fake = await fakeSecondary(() => true, '::1');
    } catch {
      return; // no IPv6 loopback here
    }
    cleanups.push(() => fake.close());
    const { log, lines } = capturingLogger();
    const notifier = new Notifier({ holder, targets: parseNotifyTargets(`[::1]:${fake.port}`), log });
    notifier.start();
    cleanups.push(() => notifier.stop());
    holder.swap([exampleNet(SERIAL + 5)]);
    const ack = await waitFor(async () => lines.find((l) => l.msg === 'secondary acknowledged NOTIFY'), 3_000, 20);
    expect(ack).toMatchObject({ zone: 'example.net.', serial: SERIAL + 5, target: `[::1]:${fake.port}` });
    expect(fake.received).toHaveLength(1);
    expect(fake.received[0]!.from.family).toBe('IPv6');
    expect(soaSerial(fake.received[0]!.packet)).toBe(SERIAL + 5);
  });

  it('notifies a zone that appears, and not one whose serial stayed', async () => {
    const holder = new SnapshotHolder([exampleNet(SERIAL)]);
    const fake = await fakeSecondary(() => true);
    cleanups.push(() => fake.close());
    const { log, lines } = capturingLogger();
    const notifier = new Notifier({ holder, targets: [{ host: '127.0.0.1', port: fake.port }], log });
    notifier.start();
    cleanups.push(() => notifier.stop());

    const yamlFile = path.join(shippedZones, 'gslb.example.org.yaml');
    const yaml = loadZoneText(fs.readFileSync(yamlFile, 'utf8'), yamlFile);
    if (!yaml.ok) throw new Error('the shipped YAML zone does not load');
    holder.swap([exampleNet(SERIAL), yaml.zone]);
    await waitFor(async () => lines.find((l) => l.msg === 'secondary acknowledged NOTIFY'), 3_000, 20);
    await sleep(200);
    expect(fake.received.map((r) => r.packet.questions![0]!.name)).toEqual(['gslb.example.org']);
  });
});

const named = ['/usr/sbin/named', '/usr/bin/named'].find((p) => fs.existsSync(p));

describe.skipIf(!named)('BIND named as a secondary, told of a change by NOTIFY', () => {
  it('serves the new serial within seconds of the zone file changing', async () => {
    const zonesDir = tempZones();
    const node: RunningNode = await startTestNode(zonesDir);
    cleanups.push(() => node.stop());

    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-named-notify-'));
    fs.chmodSync(dir, 0o777);
    const conf = path.join(dir, 'named.conf');
    // The zone's SOA refresh is 1h, so within this test named only learns of the change from
    // the NOTIFY. named accepts NOTIFY from the addresses of its primaries (127.0.0.1) by default.
    fs.writeFileSync(conf, namedSecondaryConf(dir, port, node.dns.port, ['example.net']));
    const output: string[] = [];
    const child = startDaemon(named!, ['-g', '-c', conf, '-n', '1'], output);
    cleanups.push(() => stopDaemon(child));

    const { log, lines } = capturingLogger();
    const notifier = new Notifier({ holder: node.holder, targets: [{ host: '127.0.0.1', port }], log });
    notifier.start();
    cleanups.push(() => notifier.stop());

    const soaSerialAt = async (p: number): Promise<string | undefined> => {
      const out = await dig(p, ['example.net', 'SOA', '+norec']);
      if (!out.includes('status: NOERROR') || !/flags:[^;]* aa/.test(out)) return undefined;
      return /IN\s+SOA\s+\S+\s+\S+\s+(\d+)/.exec(out)?.[1];
    };
    // named transfers the zone at its start.
    await waitFor(async () => (await soaSerialAt(port)) === String(SERIAL), 20_000, 250).catch((err: Error) => {
      throw new Error(`${err.message}\nnamed output:\n${output.join('')}`);
    });
    // It got there by its own initial transfer: nothing was notified yet.
    expect(lines.filter((l) => l.msg.includes('NOTIFY') && l.level >= 30)).toEqual([]);

    const changedAt = Date.now();
    setSerial(zonesDir, SERIAL + 1);
    await waitFor(async () => (await soaSerialAt(node.dns.port)) === String(SERIAL + 1), 5_000, 50);
    await waitFor(async () => (await soaSerialAt(port)) === String(SERIAL + 1), 10_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}\nnamed output:\n${output.join('')}\nnotifier log:\n${JSON.stringify(lines)}`);
    });
    expect(Date.now() - changedAt).toBeLessThan(10_000);
    // named answered the NOTIFY (§3.3), and says it acted on it.
    const ack = await waitFor(async () => lines.find((l) => l.msg === 'secondary acknowledged NOTIFY'), 5_000, 50);
    expect(ack).toMatchObject({ zone: 'example.net.', serial: SERIAL + 1, target: `127.0.0.1:${port}` });
    expect(output.join('')).toMatch(/notify for zone 'example\.net/);
  }, 60_000);
});
