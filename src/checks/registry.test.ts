/**
 * The check registry and the plans of its check types: what a `checks:` entry compiles to, what
 * is rejected and with which words, and what a plan aimed at an endpoint probes. The `dns` type
 * in detail; http and tcp keep what test/e2e/probes.test.ts and src/health/checker.test.ts show.
 * Real DNS servers are in test/e2e/dns-check.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CheckEntry } from './schema.js';
import type { Endpoint } from '../policy/types.js';
import { loadZoneText } from '../zone/load.js';
import { probeSpecFor } from '../health/checker.js';
import { compileChecks, type CheckPlan } from './config.js';
import { CHECK_TYPES, PROBE_TYPE_NAMES, checkTypeOf } from './registry.js';

function compile(entries: CheckEntry[]): { plans: Map<string, CheckPlan>; messages: string[] } {
  const { plans, problems } = compileChecks(entries, () => false);
  return { plans, messages: problems.map((p) => p.args.join(': ')) };
}

function probeOf(entry: CheckEntry) {
  const { plans, messages } = compile([entry]);
  expect(messages).toEqual([]);
  const root = plans.get(entry.id)!.root;
  if (root.kind !== 'probe') throw new Error('not a probe');
  return root.probe;
}

function endpoint(value: string, rrtype = 1): Endpoint {
  return { key: 'p/e', pool: 'p', id: 'e', region: 'r', weight: 1, rrtype, rdata: Buffer.alloc(0), value, seed: 1, check: null };
}

describe('the registry', () => {
  it('lists every probe type once, each handled by exactly one module', () => {
    expect(PROBE_TYPE_NAMES).toEqual(['http', 'https', 'tcp', 'dns']);
    for (const name of PROBE_TYPE_NAMES) expect(CHECK_TYPES.filter((t) => (t.types as readonly string[]).includes(name))).toHaveLength(1);
    expect(checkTypeOf('all')).toBeUndefined();
  });

  it('the schema takes the type names and fields from the registry', () => {
    const type = CheckEntry.properties.type as unknown as { anyOf: { const: string }[]; 'x-error': string };
    expect(type.anyOf.map((t) => t.const)).toEqual([...PROBE_TYPE_NAMES, 'all', 'any', 'at_least']);
    expect(type['x-error']).toBe('must be one of http, https, tcp, dns, all, any, at_least');
    for (const t of CHECK_TYPES) for (const field of Object.keys(t.fields)) expect(CheckEntry.properties).toHaveProperty(field);
  });

  it('plans are a tagged union on type: http keeps its fields, tcp has only its port and address', () => {
    expect(probeOf({ id: 'h', type: 'https', path: '/up' })).toMatchObject({
      type: 'https',
      path: '/up',
      method: 'GET',
      expectStatus: [200, 399],
      tlsVerify: true,
    });
    expect(probeOf({ id: 't', type: 'tcp', port: 25 })).toEqual({ type: 'tcp', port: 25, address: undefined });
  });

  it('aims http at the endpoint with its hostname as Host, tcp at the address, as before', () => {
    const http = probeOf({ id: 'h', type: 'http' });
    expect(probeSpecFor(http, endpoint('192.0.2.1'), 500)).toEqual({
      kind: 'http',
      address: '192.0.2.1',
      port: 80,
      path: '/',
      method: 'GET',
      headers: {},
      expectStatus: [200, 399],
      tlsVerify: true,
      followRedirects: false,
      timeoutMs: 500,
    });
    expect(probeSpecFor(http, endpoint('web.example.', 5), 500)).toMatchObject({ address: 'web.example', host: 'web.example' });
    const tcp = probeOf({ id: 't', type: 'tcp', port: 25, address: '192.0.2.9' });
    expect(probeSpecFor(tcp, endpoint('192.0.2.1'), 500)).toEqual({ kind: 'tcp', address: '192.0.2.9', port: 25, timeoutMs: 500 });
  });
});

describe('dns check plans', () => {
  it('defaults: qtype A, rcode NOERROR, no RD, no rdata expectation, port 53 on the endpoint', () => {
    const plan = probeOf({ id: 'd', type: 'dns', name: 'www.example.org' });
    expect(plan).toEqual({
      type: 'dns',
      qkey: 'www.example.org',
      qtype: 1,
      rcode: 0,
      expect: undefined,
      recursion: false,
      port: undefined,
      address: undefined,
    });
    expect(probeSpecFor(plan, endpoint('192.0.2.53'), 700)).toEqual({
      kind: 'dns',
      address: '192.0.2.53',
      port: 53,
      qkey: 'www.example.org',
      qtype: 1,
      rcode: 0,
      expect: undefined,
      recursion: false,
      timeoutMs: 700,
    });
    // A hostname endpoint is reached by its name, as tcp and http reach it.
    expect(probeSpecFor(plan, endpoint('ns.example.', 5), 700)).toMatchObject({ address: 'ns.example' });
  });

  it('names are absolute with or without the dot and compare in lowercase; qtype by mnemonic or TYPEnnn', () => {
    expect(probeOf({ id: 'd', type: 'dns', name: 'WWW.Example.ORG.', qtype: 'txt' })).toMatchObject({ qkey: 'www.example.org', qtype: 16 });
    expect(probeOf({ id: 'd', type: 'dns', name: '.', qtype: 'TYPE65' })).toMatchObject({ qkey: '', qtype: 65 });
    expect(probeOf({ id: 'd', type: 'dns', name: 'x.example', rcode: 'NXDOMAIN', recursion: true, port: 5300 })).toMatchObject({
      rcode: 3,
      recursion: true,
      port: 5300,
    });
  });

  it('expected rdata is parsed for the qtype, and shown in presentation form', () => {
    const plan = probeOf({ id: 'd', type: 'dns', name: 'example.org', qtype: 'MX', expect: ['10 Mail.Example.org.', '20 backup.example.org'] });
    if (plan.type !== 'dns') throw new Error('not dns');
    expect(plan.expect!.map((x) => x.shown)).toEqual(['10 Mail.Example.org.', '20 backup.example.org.']);
    // Names in RDATA compare without regard to case (RFC 4034 §6.2).
    const lower = probeOf({ id: 'd', type: 'dns', name: 'example.org', qtype: 'MX', expect: ['10 mail.example.org.'] });
    if (lower.type !== 'dns') throw new Error('not dns');
    expect(lower.expect![0]!.key).toBe(plan.expect![0]!.key);
  });

  it.each<[string, CheckEntry, string]>([
    ['no name', { id: 'd', type: 'dns' }, 'checks[0].name: a dns check needs a name to ask for'],
    ['a bad name', { id: 'd', type: 'dns', name: 'a..b' }, 'checks[0].name: name "a..b" has an empty label'],
    ['an unknown qtype', { id: 'd', type: 'dns', name: 'x', qtype: 'BOGUS' }, 'checks[0].qtype: unknown type "BOGUS"'],
    ['AXFR as qtype', { id: 'd', type: 'dns', name: 'x', qtype: 'AXFR' }, 'checks[0].qtype: AXFR cannot be asked in a query'],
    ['rdata that is not of the qtype', { id: 'd', type: 'dns', name: 'x', expect: ['192.0.2.1', 'not-an-address'] }, 'checks[0].expect[1]: not A data'],
    ['a dns field on an http check', { id: 'd', type: 'http', qtype: 'A' }, 'checks[0].qtype: "qtype" applies to dns checks, not http'],
    ['a dns field on a calculated check', { id: 'a', type: 'any', checks: ['a'], expect: ['x'] }, 'checks[0].expect: "expect" applies to dns checks, not any'],
    [
      'weight_from on a tcp check',
      { id: 't', type: 'tcp', port: 80, weight_from: { header: 'x-weight' } },
      'checks[0].weight_from: "weight_from" applies to http, https checks, not tcp',
    ],
  ])('%s is rejected with the path and the reason', (_name, entry, message) => {
    const { plans, messages } = compile([entry]);
    expect(messages.join('\n')).toContain(message);
    expect(plans.has(entry.id)).toBe(false);
  });

  it('weight_from compiles to a key path or a lower-case header; the schema wants exactly one of json and header', () => {
    expect(probeOf({ id: 'w', type: 'http', weight_from: { json: 'lb.weight' } })).toMatchObject({ weightFrom: { json: ['lb', 'weight'] } });
    expect(probeOf({ id: 'w', type: 'https', weight_from: { header: 'X-Weight' } })).toMatchObject({ weightFrom: { header: 'x-weight' } });
    const zone = (w: string) => `zone: s.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
checks: [ { id: w, type: http, weight_from: ${w} } ]
`;
    for (const bad of ['{ json: a, header: b }', '{}', '{ body: x }']) {
      const r = loadZoneText(zone(bad), 's.test.yaml');
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.errors.map((e) => e.message).join('\n'), bad).toMatch(/checks\[0\]\.weight_from/);
    }
  });

  it('the zone schema rejects an rcode that is not one, naming the field', () => {
    const zone = `zone: s.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
checks: [ { id: d, type: dns, name: www.s.test, rcode: BOGUS } ]
`;
    const r = loadZoneText(zone, 's.test.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.message).join('\n')).toMatch(/checks\[0\]\.rcode.*must be an rcode name: NOERROR, FORMERR, SERVFAIL, NXDOMAIN/);
  });

  it('a zone with a dns check loads, and its endpoints carry the plan', () => {
    const zone = `zone: s.test
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
checks: [ { id: d, type: dns, name: s.test, qtype: SOA, port: 5300 } ]
regions: [ { id: r1, location: { lat: 50, lon: 8 }, country: DE } ]
pools: [ { id: p, check: d, endpoints: [ { id: a, address: 192.0.2.1, region: r1 } ] } ]
policies: [ { name: www, type: A, policy: { pool: p } } ]
`;
    const r = loadZoneText(zone, 's.test.yaml');
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
    const ep = [...r.zone.policies!.pools.get('p')!.endpoints][0]!;
    expect(ep.check!.root).toMatchObject({ kind: 'probe', probe: { type: 'dns', qkey: 's.test', qtype: 6, port: 5300 } });
  });
});
