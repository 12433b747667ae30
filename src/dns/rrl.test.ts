/**
 * Response rate limiting (dns/rrl.ts): the bucket arithmetic with a scripted clock, client
 * networks, exemptions, the bounded table, and — through handleQuery against the shipped zones —
 * which answers share a bucket (a flood of random names under one zone or one wildcard is one
 * bucket) and what a limited answer looks like (TC=1 with no records, or BADCOOKIE). Over real
 * sockets: test/e2e/dns-guard.test.ts.
 */
import path from 'node:path';
import dnsPacket from 'dns-packet';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RRL, ResponseRateLimiter, Verdict, type RrlOptions } from './rrl.js';
import { addressOctets } from './client-address.js';
import { handleQuery, type QueryEnv } from './pipeline.js';
import { CookieJar } from './cookies.js';
import { CookieSecrets } from './cookie-secrets.js';
import { SnapshotHolder } from '../state/snapshot.js';
import { checkZoneDir } from '../state/file-source.js';
import type { Zone } from '../zone/zone.js';
import { decode } from '../../test/support/dns-client.js';

const ip = addressOctets;
const limiter = (o: Partial<RrlOptions> = {}): ResponseRateLimiter => new ResponseRateLimiter({ ...DEFAULT_RRL, exempt: [], ...o });

/** Verdicts of `n` answers of one key from one address at `atMs`. */
function burst(rrl: ResponseRateLimiter, n: number, atMs: number, from = '192.0.2.1', key = 'a1|www.example.net'): Verdict[] {
  return Array.from({ length: n }, () => rrl.check(ip(from), key, atMs));
}
const count = (vs: Verdict[], v: Verdict): number => vs.filter((x) => x === v).length;

describe('the bucket', () => {
  it('sends `rate` answers at once, then slips every `slip`-th of the rest and drops the others', () => {
    const rrl = limiter({ ratePerSecond: 10, slip: 3 });
    const vs = burst(rrl, 100, 0);
    expect(vs.slice(0, 10).every((v) => v === Verdict.SEND)).toBe(true);
    expect(count(vs, Verdict.SEND)).toBe(10);
    expect(count(vs, Verdict.SLIP)).toBe(30); // 90 limited, every third slipped
    expect(count(vs, Verdict.DROP)).toBe(60);
    expect(rrl.counts.answer).toEqual({ dropped: 60, slipped: 30 });
  });

  it('slip 1 slips every limited answer; slip 0 drops them all', () => {
    expect(count(burst(limiter({ ratePerSecond: 5, slip: 1 }), 20, 0), Verdict.SLIP)).toBe(15);
    expect(count(burst(limiter({ ratePerSecond: 5, slip: 0 }), 20, 0), Verdict.DROP)).toBe(15);
  });

  it('earns `rate` credits a second, but never more than `rate`', () => {
    const rrl = limiter({ ratePerSecond: 10, windowSeconds: 15 });
    expect(count(burst(rrl, 10, 0), Verdict.SEND)).toBe(10);
    expect(count(burst(rrl, 10, 500), Verdict.SEND)).toBe(5); // half a second: five credits
    // A quiet spell longer than a second still earns only `rate`.
    expect(count(burst(rrl, 30, 10_000), Verdict.SEND)).toBe(10);
  });

  it('a sustained flood builds debt down to rate × window, so it stays cut off until it has kept quiet', () => {
    const rrl = limiter({ ratePerSecond: 10, windowSeconds: 5, slip: 0 });
    // 1,000 a second for three seconds: the first ten go out, then nothing.
    let sent = 0;
    for (let t = 0; t < 3000; t++) sent += count(burst(rrl, 1, t), Verdict.SEND);
    expect(sent).toBe(10);
    // Debt is at its floor (-50); after four quiet seconds it is -10 + … still negative.
    expect(burst(rrl, 1, 3000 + 4000)[0]).toBe(Verdict.DROP);
    // Quiet for longer than the window: a fresh bucket.
    expect(burst(rrl, 1, 3000 + 4000 + 5001)[0]).toBe(Verdict.SEND);
  });

  it('counts a client network together: /24 for IPv4, /56 for IPv6 (configurable)', () => {
    const rrl = limiter({ ratePerSecond: 4 });
    expect(count(burst(rrl, 4, 0, '192.0.2.1'), Verdict.SEND)).toBe(4);
    expect(burst(rrl, 1, 0, '192.0.2.200')[0]).not.toBe(Verdict.SEND); // same /24
    expect(burst(rrl, 1, 0, '192.0.3.1')[0]).toBe(Verdict.SEND); // another /24
    expect(count(burst(rrl, 4, 0, '2001:db8:0:ff::1'), Verdict.SEND)).toBe(4);
    expect(burst(rrl, 1, 0, '2001:db8:0:2a::2')[0]).not.toBe(Verdict.SEND); // same /56
    expect(burst(rrl, 1, 0, '2001:db8:0:100::1')[0]).toBe(Verdict.SEND); // another /56
    const per32 = limiter({ ratePerSecond: 1, ipv4Prefix: 32 });
    expect(burst(per32, 1, 0, '192.0.2.1')[0]).toBe(Verdict.SEND);
    expect(burst(per32, 1, 0, '192.0.2.2')[0]).toBe(Verdict.SEND);
    // An IPv4-mapped source counts as its IPv4 address.
    expect(burst(per32, 1, 0, '::ffff:192.0.2.1')[0]).not.toBe(Verdict.SEND);
  });

  it('keeps other answers to the same network apart', () => {
    const rrl = limiter({ ratePerSecond: 2 });
    burst(rrl, 5, 0, '192.0.2.1', 'a1|www.example.net');
    expect(burst(rrl, 1, 0, '192.0.2.1', 'a28|www.example.net')[0]).toBe(Verdict.SEND);
    expect(burst(rrl, 1, 0, '192.0.2.1', 'nexample.net')[0]).toBe(Verdict.SEND);
  });

  it('never limits an exempt source (loopback by default)', () => {
    const rrl = new ResponseRateLimiter({ ...DEFAULT_RRL, ratePerSecond: 1 });
    expect(count(burst(rrl, 50, 0, '127.0.0.1'), Verdict.SEND)).toBe(50);
    expect(count(burst(rrl, 50, 0, '::1'), Verdict.SEND)).toBe(50);
    expect(rrl.exemptAnswers).toBe(100);
    expect(rrl.isExempt(ip('127.1.2.3'))).toBe(true);
    expect(rrl.isExempt(ip('192.0.2.1'))).toBe(false);
  });

  it('keeps its table bounded: two generations, the older dropped whole', () => {
    const rrl = limiter({ maxBuckets: 100 });
    for (let i = 0; i < 10_000; i++) rrl.check(ip(`10.${(i >> 8) & 255}.${i & 255}.1`), 'e', 0);
    expect(rrl.buckets).toBeLessThanOrEqual(200);
  });

  it('refuses options it cannot work with', () => {
    expect(() => limiter({ ratePerSecond: 0 })).toThrow(/positive/);
    expect(() => limiter({ exempt: ['192.0.2.1/24'] })).toThrow(/bits set past/);
  });
});

describe('through the pipeline (shipped zones)', () => {
  let env: QueryEnv;
  let rrl: ResponseRateLimiter;
  beforeAll(async () => {
    const { zones, errors } = await checkZoneDir(path.resolve(import.meta.dirname, '../../zones'));
    expect(errors).toEqual([]);
    rrl = limiter({ ratePerSecond: 5, slip: 2, windowSeconds: 60 });
    env = {
      snapshots: new SnapshotHolder(zones as Zone[]),
      options: { maxUdpPayload: 1232, useCache: true },
      rrl,
      cookies: new CookieJar(new CookieSecrets()),
    };
  });
  const q = (name: string, type = 'A', options: unknown[] | null = null): Buffer =>
    dnsPacket.encode({
      type: 'query',
      id: 7,
      questions: [{ name, type: type as dnsPacket.RecordType }],
      additionals: options ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, options } as unknown as dnsPacket.Answer] : [],
    });
  const ask = (msg: Buffer, from: string, transport: 'udp' | 'tcp' = 'udp') => {
    const out = handleQuery(msg, { transport, remoteAddress: from }, env) as Buffer | null;
    return out === null ? null : decode(out);
  };

  it('counts random names under one zone as one bucket (NXDOMAIN per zone)', () => {
    const answered = Array.from({ length: 40 }, (_, i) => ask(q(`random-${i}.example.net`), '198.51.100.1')).filter((r) => r && !r.flag_tc);
    expect(answered.length).toBe(5);
    expect(answered.every((r) => r!.rcode === 'NXDOMAIN')).toBe(true);
  });

  it('counts the names a wildcard answers as the wildcard', () => {
    const rs = Array.from({ length: 40 }, (_, i) => ask(q(`w${i}.apps.example.net`), '198.51.101.1'));
    expect(rs.filter((r) => r && !r.flag_tc && r.answers!.length > 0).length).toBe(5);
  });

  it('slips as TC=1 with no records, answering the question', () => {
    const rs = Array.from({ length: 20 }, () => ask(q('www.example.net'), '198.51.102.1'));
    const slipped = rs.filter((r) => r?.flag_tc);
    expect(slipped.length).toBe(Math.floor((20 - 5) / 2));
    for (const r of slipped) {
      expect(r!.answers ?? []).toEqual([]);
      expect(r!.questions).toEqual([{ name: 'www.example.net', type: 'A', class: 'IN' }]);
    }
    expect(rs.filter((r) => r === null).length).toBe(20 - 5 - slipped.length);
  });

  it('slips as BADCOOKIE with a server cookie to a client that sent a cookie (RFC 7873 §5.2.3)', () => {
    const cookie = [{ code: 'COOKIE', data: Buffer.from('0102030405060708', 'hex') }];
    const rs = Array.from({ length: 20 }, () => ask(q('portal.example.net', 'A', cookie), '198.51.103.1'));
    const bad = rs.filter((r) => r && r.rcode !== 'NOERROR');
    expect(bad.length).toBe(7);
    for (const r of bad) {
      // The 12-bit rcode: the header's lower four bits, the OPT TTL's first octet above them (RFC 6891 §6.1.3).
      const opt = r!.additionals!.find((a) => a.type === 'OPT') as unknown as { extendedRcode: number; options: { code: number; data: Buffer }[] };
      expect((opt.extendedRcode << 4) | (r!.raw[3]! & 0x0f)).toBe(23);
      const c = opt.options.find((o) => o.code === 10)!;
      expect(c.data.length).toBe(24);
      expect(c.data.subarray(0, 8).toString('hex')).toBe('0102030405060708');
    }
  });

  it('never limits a client with a valid server cookie, nor TCP', () => {
    const first = ask(q('cdn.example.net', 'A', [{ code: 'COOKIE', data: Buffer.from('1112131415161718', 'hex') }]), '198.51.104.1')!;
    const opt = first.additionals!.find((a) => a.type === 'OPT') as unknown as { options: { code: number; data: Buffer }[] };
    const full = opt.options.find((o) => o.code === 10)!.data;
    const withCookie = Array.from({ length: 50 }, () => ask(q('cdn.example.net', 'A', [{ code: 'COOKIE', data: full }]), '198.51.104.1'));
    expect(withCookie.every((r) => r && !r.flag_tc && r.rcode === 'NOERROR' && r.answers!.length > 0)).toBe(true);
    // The same cookie from another network is not valid there.
    const elsewhere = Array.from({ length: 50 }, () => ask(q('cdn.example.net', 'A', [{ code: 'COOKIE', data: full }]), '198.51.105.1'));
    expect(elsewhere.filter((r) => r && r.answers!.length > 0).length).toBe(5);
    const tcp = Array.from({ length: 50 }, () => ask(q('cdn.example.net'), '198.51.105.1', 'tcp'));
    expect(tcp.every((r) => r && r.answers!.length > 0)).toBe(true);
  });
});
