/**
 * What the policies do with what the health checks measure (health/votes.ts feeds the health
 * view): a latency policy with `rtt_from: probes` ranks regions by the smoothed probe RTTs seen
 * from the checker region nearest the client, falling back to the table and then to distance;
 * weights reported by targets replace the configured ones while fresh. In-process, through the
 * real load path and `decide`; the cross-process story is test/e2e/probe-steering.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { client, recordOf, scripted, zoneOf } from '../../test/support/policy-cases.js';
import { decide, outcomes } from './evaluate.js';
import { HealthState } from './health-view.js';
import type { TraceStep } from './types.js';

const ZONE = zoneOf(`latency:
  - { from: 198.51.100.0/24, rtt_ms: { fra: 10, iad: 30, gru: 200 } }
policies:
  - name: lat
    type: A
    policy:
      latency:
        rtt_from: probes
        regions: [ { region: fra, policy: { pool: eu } }, { region: iad, policy: { pool: us } }, { region: gru, policy: { pool: sa } } ]
  - name: tol
    type: A
    policy:
      latency:
        rtt_from: probes
        tolerance_ms: 20
        regions: [ { region: fra, policy: { pool: eu } }, { region: iad, policy: { pool: us } }, { region: gru, policy: { pool: sa } } ]
  - { name: w, type: A, policy: { weighted: { pool: us } } }
`);
const lat = recordOf(ZONE, 'lat');
const tol = recordOf(ZONE, 'tol');
const w = recordOf(ZONE, 'w');
const regions = (d: { endpoints: readonly { region: string }[] }): string[] => [...new Set(d.endpoints.map((e) => e.region))];
const UK = '81.2.69.0/24'; // geoip-lite: St Albans, GB
const BR = client('200.160.0.0/24'); // a Brazilian network, nearer gru than fra

describe('latency rtt_from: probes', () => {
  it('without any probe RTT it is the table, then distance (as rtt_from: table)', () => {
    const h = new HealthState();
    expect(regions(decide(lat, client('198.51.100.7'), h, { latency: ZONE.policies!.latency }))).toEqual(['fra']);
    expect(regions(decide(lat, client(UK), h, { latency: ZONE.policies!.latency }))).toEqual(['fra']);
  });

  it('the fastest region as the nearest checker region measured it wins, and follows when the RTTs swap', () => {
    const h = new HealthState();
    h.setProbeRtt('fra', 'eu/e1', 150);
    h.setProbeRtt('fra', 'us/u1', 5);
    h.setProbeRtt('fra', 'sa/s1', 90);
    const trace: TraceStep[] = [];
    expect(regions(decide(lat, client(UK), h, { trace }))).toEqual(['iad']);
    const why = trace.map((t) => t.note).join('\n');
    expect(why).toContain('probes from checker region fra');
    expect(why).toMatch(/iad 5 ms \(probes us\/u1\)/);
    expect(why).toMatch(/fra 150 ms \(probes eu\/e1\)/);
    h.setProbeRtt('fra', 'eu/e1', 5);
    h.setProbeRtt('fra', 'us/u1', 150);
    expect(regions(decide(lat, client(UK), h))).toEqual(['fra']);
  });

  it('a region the checker did not measure falls back to the table row, then to distance', () => {
    const h = new HealthState();
    h.setProbeRtt('fra', 'us/u1', 25);
    // The table row says fra 10: lower than the 25 measured to iad.
    expect(regions(decide(lat, client('198.51.100.7'), h, { latency: ZONE.policies!.latency }))).toEqual(['fra']);
    h.setProbeRtt('fra', 'us/u1', 8);
    expect(regions(decide(lat, client('198.51.100.7'), h, { latency: ZONE.policies!.latency }))).toEqual(['iad']);
    // No row for a UK client: fra is ~12 ms away by distance (St Albans–Frankfurt), iad measured 8.
    expect(regions(decide(lat, client(UK), h))).toEqual(['iad']);
    h.setProbeRtt('fra', 'us/u1', 40);
    expect(regions(decide(lat, client(UK), h))).toEqual(['fra']);
  });

  it('the checker region nearest the client decides, not the others', () => {
    const h = new HealthState();
    // fra sees eu fast; gru sees sa fast.
    h.setProbeRtt('fra', 'eu/e1', 3);
    h.setProbeRtt('fra', 'sa/s1', 200);
    h.setProbeRtt('gru', 'eu/e1', 200);
    h.setProbeRtt('gru', 'sa/s1', 3);
    expect(regions(decide(lat, client(UK), h))).toEqual(['fra']);
    const trace: TraceStep[] = [];
    expect(regions(decide(lat, BR, h, { trace }))).toEqual(['gru']);
    expect(trace.map((t) => t.note).join('\n')).toContain('probes from checker region gru');
    // A checker region that is not a region of the zone cannot be located: never the vantage.
    const h2 = new HealthState();
    h2.setProbeRtt('elsewhere', 'sa/s1', 1);
    h2.setProbeRtt('fra', 'eu/e1', 50);
    expect(regions(decide(lat, client(UK), h2))).toEqual(['fra']);
  });

  it('the tolerance still spreads load over near-equal measured regions', () => {
    const h = new HealthState();
    h.setProbeRtt('fra', 'eu/e1', 20);
    h.setProbeRtt('fra', 'us/u1', 30);
    h.setProbeRtt('fra', 'sa/s1', 90);
    const o = outcomes(tol, client(UK), h);
    expect(o.exact).toBe(true);
    const share = new Map<string, number>();
    for (const x of o.outcomes) for (const r of regions(x.decision)) share.set(r, (share.get(r) ?? 0) + x.share);
    expect(share.get('fra')).toBeCloseTo(0.5, 9);
    expect(share.get('iad')).toBeCloseTo(0.5, 9);
    expect(share.has('gru')).toBe(false);
  });
});

describe('weights reported by targets', () => {
  it('a fresh reported weight replaces the configured one in weighted picks; 0 drains; lifted, the configured weight returns', () => {
    const h = new HealthState();
    const shares = (): Map<string, number> => {
      const m = new Map<string, number>();
      for (const x of outcomes(w, client('192.0.2.1'), h).outcomes) for (const e of x.decision.endpoints) m.set(e.key, (m.get(e.key) ?? 0) + x.share);
      return m;
    };
    // Configured: u1 2, u2 2, u0 0.
    expect(shares()).toEqual(
      new Map([
        ['us/u1', 0.5],
        ['us/u2', 0.5],
      ]),
    );
    h.setReportedWeight('us/u1', 9);
    h.setReportedWeight('us/u2', 1);
    const s = shares();
    expect(s.get('us/u1')).toBeCloseTo(0.9, 9);
    expect(s.get('us/u2')).toBeCloseTo(0.1, 9);
    h.setReportedWeight('us/u0', 10); // a target may bring a configured weight-0 endpoint in
    expect(shares().get('us/u0')).toBeCloseTo(0.5, 9);
    h.setReportedWeight('us/u1', 0);
    h.setReportedWeight('us/u0', undefined);
    const trace: TraceStep[] = [];
    expect(decide(w, client('192.0.2.1'), h, { chooser: scripted([0]), trace }).endpoints.map((e) => e.key)).toEqual(['us/u2']);
    expect(trace.map((t) => t.note).join('\n')).toContain('excluded us/u1: reported weight 0 (drained by its target)');
    h.setReportedWeight('us/u1', undefined);
    h.setReportedWeight('us/u2', undefined);
    expect(shares()).toEqual(
      new Map([
        ['us/u1', 0.5],
        ['us/u2', 0.5],
      ]),
    );
  });
});
