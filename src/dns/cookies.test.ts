/**
 * DNS Cookies (dns/cookies.ts): the server cookie of RFC 9018 against the test vectors of its
 * Appendix A, the verdicts of RFC 7873 §5.2 and the time window of RFC 9018 §4.3, and the secret's
 * rotation (dns/cookie-secrets.ts). Over sockets: test/e2e/dns-guard.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CookieJar, COOKIE_LIFETIME_SECONDS, COOKIE_SKEW_SECONDS, serverCookie } from './cookies.js';
import { COOKIE_ROTATION_SECONDS, CookieSecrets, FileCookieSecrets, freshSecretState, parseSecretState, rotatedSecretState } from './cookie-secrets.js';
import { addressOctets } from './client-address.js';
import { encodeQuery, OPTION_COOKIE, parseQuery, Rcode, type Query } from '../proto/wire.js';
import { silentLogger } from '../log.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** A query carrying a COOKIE option with `data` (hex), as a client sends it. */
function queryWithCookie(data: string): Query {
  const msg = encodeQuery({ id: 1, qkey: 'example.org', qtype: 1, udpSize: 1232 });
  const opt = Buffer.alloc(4 + data.length / 2);
  opt.writeUInt16BE(OPTION_COOKIE, 0);
  opt.writeUInt16BE(data.length / 2, 2);
  hex(data).copy(opt, 4);
  const withOpt = Buffer.concat([msg, opt]);
  withOpt.writeUInt16BE(opt.length, msg.length - 2); // the OPT record's RDLENGTH
  const q = parseQuery(withOpt)!;
  expect(q.rcode, q.problem ?? '').toBe(Rcode.NOERROR);
  return q;
}

/** Secrets with `current` in force, `previous` still accepted. */
function secrets(current: string, previous: string | null = null): CookieSecrets {
  return new CookieSecrets({ current, next: '00'.repeat(16), previous, rotated_at: 0 });
}

/** The COOKIE option's data (without code and length) of a judged query. */
const data = (option: Buffer | null): string => option!.subarray(4).toString('hex');

// RFC 9018 Appendix A.
const SECRET_A = 'e5e973e5a6b2a43f48e7dc849e37bfcf';
const SECRET_OLD = 'dd3bdf9344b678b185a6f5cb60fca715';
const SECRET_NEW = '445536bcd2513298075a5d379663c962';

describe('RFC 9018 §4.2: the server cookie, against Appendix A', () => {
  it.each([
    ['A.1, learning a new server cookie', SECRET_A, '2464c4abcf10c957', '198.51.100.100', 1559731985, '010000005cf79f111f8130c3eee29480'],
    ['A.2, the same client learning a renewed one', SECRET_A, '2464c4abcf10c957', '198.51.100.100', 1559734385, '010000005cf7a871d4a564a1442aca77'],
    ['A.3, another client', SECRET_A, 'fc93fc62807ddb86', '203.0.113.203', 1559734700, '010000005cf7a9acf73a7810aca2381e'],
    [
      'A.4, an IPv6 client after the secret rolled over',
      SECRET_NEW,
      '22681ab97d52c298',
      '2001:db8:220:1:59de:d0f4:8769:82b8',
      1559741961,
      '010000005cf7c609a6bb79d16625507a',
    ],
  ])('%s', (_name, secret, client, ip, at, want) => {
    expect(serverCookie(hex(secret), hex(client), addressOctets(ip), at).toString('hex')).toBe(want);
  });
});

describe('RFC 7873 §5.2: what a query cookie gets back', () => {
  it('§5.2.3: a client cookie only gets it back with a new server cookie (A.1)', () => {
    const jar = new CookieJar(secrets(SECRET_A), () => 1559731985);
    const r = jar.judge(queryWithCookie('2464c4abcf10c957'), addressOctets('198.51.100.100'));
    expect(r.verdict).toBe('client-only');
    expect(data(r.option)).toBe('2464c4abcf10c957010000005cf79f111f8130c3eee29480');
    expect(r.option!.readUInt16BE(0)).toBe(OPTION_COOKIE);
  });

  it('§5.2.5: a valid cookie under half an hour old comes back as it was sent', () => {
    const jar = new CookieJar(secrets(SECRET_A), () => 1559731985 + 1799);
    const sent = '2464c4abcf10c957010000005cf79f111f8130c3eee29480';
    const r = jar.judge(queryWithCookie(sent), addressOctets('198.51.100.100'));
    expect(r.verdict).toBe('valid');
    expect(data(r.option)).toBe(sent);
  });

  it('RFC 9018 §4.3: a valid cookie 40 minutes old is renewed (A.2)', () => {
    const jar = new CookieJar(secrets(SECRET_A), () => 1559734385);
    const r = jar.judge(queryWithCookie('2464c4abcf10c957010000005cf79f111f8130c3eee29480'), addressOctets('198.51.100.100'));
    expect(r.verdict).toBe('valid');
    expect(data(r.option)).toBe('2464c4abcf10c957010000005cf7a871d4a564a1442aca77');
  });

  it('RFC 9018 §4.2: Reserved octets another server set are part of the hash (A.3)', () => {
    const sent = 'fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5';
    const madeAt = 0x5cf78f71;
    const jar = new CookieJar(secrets(SECRET_A), () => madeAt + 60);
    const r = jar.judge(queryWithCookie(sent), addressOctets('203.0.113.203'));
    expect(r.verdict).toBe('valid');
    expect(data(r.option)).toBe(sent);
    // A.3's own reply comes 1 h 52 min after the cookie was made: past the hour of §4.3 here, so
    // the cookie no longer counts, but the reply is the same fresh cookie the RFC shows.
    const late = new CookieJar(secrets(SECRET_A), () => 1559734700).judge(queryWithCookie(sent), addressOctets('203.0.113.203'));
    expect(late.verdict).toBe('invalid');
    expect(data(late.option)).toBe('fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e');
    // The same cookie from another address is not ours (§5.2.4).
    expect(jar.judge(queryWithCookie(sent), addressOctets('203.0.113.204')).verdict).toBe('invalid');
  });

  it('RFC 9018 §5: a cookie of the previous secret still counts, and is renewed with the new one (A.4)', () => {
    const jar = new CookieJar(secrets(SECRET_NEW, SECRET_OLD), () => 1559741961);
    const ip = addressOctets('2001:db8:220:1:59de:d0f4:8769:82b8');
    const r = jar.judge(queryWithCookie('22681ab97d52c298010000005cf7c57926556bd0934c72f8'), ip);
    expect(r.verdict).toBe('valid');
    expect(data(r.option)).toBe('22681ab97d52c298010000005cf7c609a6bb79d16625507a');
    // Without the old secret the cookie is someone else's.
    expect(new CookieJar(secrets(SECRET_NEW), () => 1559741961).judge(queryWithCookie('22681ab97d52c298010000005cf7c57926556bd0934c72f8'), ip).verdict).toBe(
      'invalid',
    );
  });

  it('RFC 9018 §4.3: valid from five minutes ahead to an hour old, in serial-number arithmetic', () => {
    const ip = addressOctets('192.0.2.1');
    const client = hex('0102030405060708');
    const cookieAt = (ts: number): string => `0102030405060708${serverCookie(hex(SECRET_A), client, ip, ts).toString('hex')}`;
    const verdictAt = (ts: number, now: number): string => new CookieJar(secrets(SECRET_A), () => now).judge(queryWithCookie(cookieAt(ts)), ip).verdict;
    const now = 1559731985;
    expect(verdictAt(now - COOKIE_LIFETIME_SECONDS, now)).toBe('valid');
    expect(verdictAt(now - COOKIE_LIFETIME_SECONDS - 1, now)).toBe('invalid');
    expect(verdictAt(now + COOKIE_SKEW_SECONDS, now)).toBe('valid');
    expect(verdictAt(now + COOKIE_SKEW_SECONDS + 1, now)).toBe('invalid');
    // Made just before the 32-bit timestamp wraps, presented just after: ten minutes old.
    expect(verdictAt(0xffffffff - 299, 300)).toBe('valid');
  });

  it('§5.2.4: a server cookie of another length or version is treated as a client cookie only', () => {
    const jar = new CookieJar(secrets(SECRET_A), () => 1559731985);
    for (const sent of ['2464c4abcf10c957' + 'aa'.repeat(8), '2464c4abcf10c957' + '02'.padEnd(32, '0'), '2464c4abcf10c957' + 'bb'.repeat(32)]) {
      const r = jar.judge(queryWithCookie(sent), addressOctets('198.51.100.100'));
      expect(r.verdict).toBe('invalid');
      expect(data(r.option)).toBe('2464c4abcf10c957010000005cf79f111f8130c3eee29480');
    }
    expect(jar.counts).toMatchObject({ invalid: 3 });
  });
});

describe('RFC 7873 §5.2.2: a malformed COOKIE option is FORMERR (proto/wire.ts)', () => {
  it.each([0, 7, 9, 15, 41])('%i octets', (len) => {
    const msg = encodeQuery({ id: 1, qkey: 'example.org', qtype: 1, udpSize: 1232 });
    const opt = Buffer.alloc(4 + len);
    opt.writeUInt16BE(OPTION_COOKIE, 0);
    opt.writeUInt16BE(len, 2);
    const withOpt = Buffer.concat([msg, opt]);
    withOpt.writeUInt16BE(opt.length, msg.length - 2);
    const q = parseQuery(withOpt)!;
    expect(q.rcode).toBe(Rcode.FORMERR);
    expect(q.problem).toMatch(/COOKIE option of \d+ octets/);
  });

  it.each([8, 16, 24, 40])('%i octets are well-formed', (len) => {
    expect(queryWithCookie('ab'.repeat(len)).edns!.cookie!.length).toBe(len);
  });
});

describe('the server secret (dns/cookie-secrets.ts)', () => {
  it('rotates in one step: the next secret becomes current, the current one previous', () => {
    const s0 = freshSecretState(1000);
    const s1 = rotatedSecretState(s0, 1000 + COOKIE_ROTATION_SECONDS);
    expect(s1).toMatchObject({ current: s0.next, previous: s0.current, rotated_at: 1000 + COOKIE_ROTATION_SECONDS });
    expect(s1.next).not.toBe(s0.next);
    const held = new CookieSecrets(s1);
    expect(held.accepted.map((b) => b.toString('hex'))).toEqual([s1.current, s1.next, s0.current]);
    expect(() => parseSecretState('{"current":"zz"}')).toThrow(/32 hex digits/);
  });

  it('is kept in the state directory (mode 0600), survives a restart and rotates after a day', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-cookie-'));
    let now = 5_000_000;
    const a = new FileCookieSecrets(dir, silentLogger(), () => now);
    const file = path.join(dir, 'cookie-secret.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const b = new FileCookieSecrets(dir, silentLogger(), () => now);
    expect(b.secrets.state).toEqual(a.secrets.state);
    now += COOKIE_ROTATION_SECONDS - 1;
    expect(b.rotateIfDue()).toBe(false);
    now += 1;
    expect(b.rotateIfDue()).toBe(true);
    expect(parseSecretState(fs.readFileSync(file, 'utf8'))).toEqual(b.secrets.state);
    expect(b.secrets.state.previous).toBe(a.secrets.state.current);
    fs.rmSync(dir, { recursive: true });
  });
});
