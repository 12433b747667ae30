/**
 * The status words of health/status.ts, table by table as its header (and docs/health.md,
 * "Region states") states them: endpoints from a real zone load, a real HealthState, and the
 * verdicts and overrides set as the vote store and the admin API set them.
 */
import { describe, expect, it } from 'vitest';
import { loadZoneText } from '../zone/load.js';
import { HealthState, type Override } from '../policy/health-view.js';
import type { Endpoint } from '../policy/types.js';
import { endpointState, regionState, type EndpointStatus, type RegionState } from './status.js';

const ZONE = `zone: status.example.org
soa: { mname: ns1, rname: hostmaster, serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5 }
ns: [ns1]
records: [ { name: ns1, type: A, value: 192.0.2.53 } ]
checks: [ { id: web, type: tcp, port: 80 } ]
regions: [ { id: r1, location: { lat: 50, lon: 8 }, country: DE }, { id: r2, location: { lat: 39, lon: -77 }, country: US } ]
pools:
  - id: p
    check: web
    endpoints:
      - { id: a, address: 192.0.2.1, region: r1 }
      - { id: b, address: 192.0.2.2, region: r1 }
      - { id: z, address: 192.0.2.3, region: r1, weight: 0 }
      - { id: n, address: 192.0.2.4, region: r1, check: none }
policies: [ { name: www, type: A, policy: { pool: p } } ]
`;

function endpoints(): Map<string, Endpoint> {
  const r = loadZoneText(ZONE, 'status.example.org.yaml');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return new Map([...r.zone.policies!.pools.get('p')!.endpoints].map((e) => [e.id, e]));
}

const drain: Override = { kind: 'drain', reason: 'test' };
const forceDown: Override = { kind: 'force_down' };
const forceUp: Override = { kind: 'force_up' };

describe('endpoint status: first match wins', () => {
  const eps = endpoints();
  const cases: {
    name: string;
    ep: string;
    view?: 'up' | 'down';
    own?: Override;
    region?: Override;
    status: EndpointStatus;
    usable: boolean;
    reason: string | null;
  }[] = [
    { name: 'checked, no vote yet', ep: 'a', status: 'unknown', usable: true, reason: null },
    { name: 'no check at all', ep: 'n', status: 'unchecked', usable: true, reason: null },
    { name: 'up by its checks', ep: 'a', view: 'up', status: 'up', usable: true, reason: null },
    { name: 'down by its checks', ep: 'a', view: 'down', status: 'down', usable: false, reason: 'down (health checks)' },
    { name: 'weight 0 beats an up verdict', ep: 'z', view: 'up', status: 'weight_zero', usable: false, reason: 'weight 0 (drained)' },
    {
      name: 'weight 0 beats force_up (policies never answer weight 0)',
      ep: 'z',
      own: forceUp,
      status: 'weight_zero',
      usable: false,
      reason: 'weight 0 (drained)',
    },
    { name: 'drain beats weight 0', ep: 'z', own: drain, status: 'drained', usable: false, reason: 'drained (endpoint override: test)' },
    {
      name: 'a region drain reaches its endpoints',
      ep: 'a',
      view: 'up',
      region: drain,
      status: 'drained',
      usable: false,
      reason: 'drained (region r1 override: test)',
    },
    { name: 'force_down', ep: 'a', view: 'up', own: forceDown, status: 'forced_down', usable: false, reason: 'forced down (endpoint override)' },
    { name: 'force_up over a down verdict', ep: 'a', view: 'down', own: forceUp, status: 'forced_up', usable: true, reason: null },
    { name: "the endpoint's own force_up beats its region's drain", ep: 'a', own: forceUp, region: drain, status: 'forced_up', usable: true, reason: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const h = new HealthState();
      const ep = eps.get(c.ep)!;
      if (c.view) h.setHealth(ep.key, c.view);
      if (c.own) h.setOverride({ endpoint: ep.key }, c.own);
      if (c.region) h.setOverride({ region: 'r1' }, c.region);
      expect(endpointState(h, ep)).toMatchObject({ status: c.status, usable: c.usable, reason: c.reason });
    });
  }
});

describe('region status: first match wins', () => {
  const eps = endpoints();
  const [a, b, z, n] = ['a', 'b', 'z', 'n'].map((id) => eps.get(id)!) as [Endpoint, Endpoint, Endpoint, Endpoint];
  type Setup = (h: HealthState) => void;
  const up =
    (...e: Endpoint[]): Setup =>
    (h) =>
      e.forEach((x) => h.setHealth(x.key, 'up'));
  const down =
    (...e: Endpoint[]): Setup =>
    (h) =>
      e.forEach((x) => h.setHealth(x.key, 'down'));
  const drained =
    (...e: Endpoint[]): Setup =>
    (h) =>
      e.forEach((x) => h.setOverride({ endpoint: x.key }, drain));
  const cases: { name: string; members: Endpoint[]; setup: Setup[]; status: RegionState }[] = [
    { name: 'no endpoints → empty', members: [], setup: [], status: 'empty' },
    { name: 'checked endpoints without votes → unchecked, never healthy', members: [a, b], setup: [], status: 'unchecked' },
    { name: 'no checks → unchecked', members: [n], setup: [], status: 'unchecked' },
    {
      name: 'only forced up → unchecked (the operator forced it; nobody checked it)',
      members: [a],
      setup: [(h) => h.setOverride({ endpoint: a.key }, forceUp)],
      status: 'unchecked',
    },
    { name: 'every checked endpoint up → healthy', members: [a, b], setup: [up(a, b)], status: 'healthy' },
    { name: 'checked up next to an unchecked one → healthy', members: [a, n], setup: [up(a)], status: 'healthy' },
    { name: 'one up, one without a vote → healthy (both usable)', members: [a, b], setup: [up(a)], status: 'healthy' },
    { name: 'one up, one down → degraded', members: [a, b], setup: [up(a), down(b)], status: 'degraded' },
    { name: 'one up, one drained → degraded', members: [a, b], setup: [up(a, b), drained(b)], status: 'degraded' },
    { name: 'a weight-0 endpoint beside up ones → degraded (it is not capacity)', members: [a, z], setup: [up(a, z)], status: 'degraded' },
    { name: 'all down → down', members: [a, b], setup: [down(a, b)], status: 'down' },
    { name: 'down and drained → down (the checks say down)', members: [a, b], setup: [down(a), drained(b)], status: 'down' },
    { name: 'all drained → drained', members: [a, b], setup: [drained(a, b)], status: 'drained' },
    { name: 'a region drain over unchecked endpoints → drained', members: [a, n], setup: [(h) => h.setOverride({ region: 'r1' }, drain)], status: 'drained' },
    { name: 'only weight 0 → drained', members: [z], setup: [], status: 'drained' },
    { name: 'weight 0 and forced down → drained', members: [a, z], setup: [(h) => h.setOverride({ endpoint: a.key }, forceDown)], status: 'drained' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const h = new HealthState();
      for (const s of c.setup) s(h);
      expect(regionState(h, c.members).status).toBe(c.status);
    });
  }

  it('counts usable capacity without weight-0 endpoints, and every status present', () => {
    const h = new HealthState();
    up(a)(h);
    down(b)(h);
    const s = regionState(h, [a, b, z, n]);
    expect(s.counts).toEqual({ total: 4, usable: 2, up: 1, down: 1, unknown: 2, overridden: 0, unchecked: 1, drained: 0, forced_down: 0, weight_zero: 1 });
    expect(s.byStatus).toEqual({ up: 1, down: 1, weight_zero: 1, unchecked: 1 });
    expect(s.weight).toEqual({ total: 3, usable: 2 });
    expect(s.status).toBe('degraded');
  });
});
