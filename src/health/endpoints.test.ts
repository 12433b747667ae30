/**
 * health/endpoints.ts on real zones: two zones that share a pool name list its endpoint keys
 * twice; the unique and the checked lists keep the first of each key.
 */
import { describe, expect, it } from 'vitest';
import { loadZoneText } from '../zone/load.js';
import { SnapshotHolder } from '../state/snapshot.js';
import { checkedEndpoints, endpointsOf, uniqueEndpointsOf } from './endpoints.js';

function zone(name: string, check: string) {
  const text = `zone: ${name}
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
checks: [ { id: web, type: tcp, port: 80 } ]
regions: [ { id: r1, location: { lat: 50, lon: 8 }, country: DE } ]
pools:
  - id: p
    check: ${check}
    endpoints:
      - { id: a, address: 192.0.2.1, region: r1 }
      - { id: b, address: 192.0.2.2, region: r1, check: none }
policies: [ { name: www, type: A, policy: { pool: p } } ]
`;
  const r = loadZoneText(text, `${name}.yaml`);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.zone;
}

describe('endpoints of a snapshot', () => {
  const first = zone('one.example', 'none');
  const second = zone('two.example', 'web');
  const snapshot = new SnapshotHolder([first, second]).current;

  it('endpointsOf lists every pool endpoint of every zone, repeats included', () => {
    expect(endpointsOf(snapshot).map((e) => e.key)).toEqual(['p/a', 'p/b', 'p/a', 'p/b']);
  });

  it('uniqueEndpointsOf keeps the first endpoint of each key', () => {
    const eps = uniqueEndpointsOf(snapshot);
    expect(eps.map((e) => e.key)).toEqual(['p/a', 'p/b']);
    expect(eps[0]).toBe(first.policies!.pools.get('p')!.endpoints[0]);
  });

  it('checkedEndpoints keeps the first endpoint of each key that has a check', () => {
    const eps = checkedEndpoints(endpointsOf(snapshot));
    expect(eps.map((e) => e.key)).toEqual(['p/a']);
    expect(eps[0]).toBe(second.policies!.pools.get('p')!.endpoints[0]);
    expect(eps[0]!.check.intervalMs).toBe(10_000);
  });
});
