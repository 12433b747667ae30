/**
 * policy/evaluate.ts `decide` in-process: the tree's answer when it has one, and each
 * `on_all_down` setting when it has nothing (never SERVFAIL because of health: serve_all fails
 * open as Route 53 does, serve_none answers NODATA, RFC 2308 §2.2, a pool falls back), with the
 * health of a real {@link HealthState} (verdicts and operator overrides) and seeded dice.
 */
import { describe, expect, it } from 'vitest';
import { policyRRset } from '../dns/answer.js';
import { client, keysOf, recordOf, scripted, seededChooser, zoneOf } from '../../test/support/policy-cases.js';
import { decide } from './evaluate.js';
import { HealthState } from './health-view.js';
import type { TraceStep } from './types.js';

const ZONE = zoneOf(`policies:
  - { name: all, type: A, policy: { failover: { tiers: [ { pool: eu }, { pool: us } ] } } }
  - { name: none, type: A, on_all_down: serve_none, policy: { failover: { tiers: [ { pool: eu }, { pool: us } ] } } }
  - { name: fallback, type: A, on_all_down: { pool: sa }, policy: { weighted: { pool: eu } } }
  - { name: geo, type: A, on_all_down: serve_none, policy: { geo: { branches: [ { match: { countries: [US] }, policy: { pool: us } } ] } } }
`);
const rec = (name: string) => recordOf(ZONE, name);
const US = client('8.8.8.8');

/** A health state with every endpoint of the given keys down (verdicts from health checks). */
function healthWithDown(...keys: string[]): HealthState {
  const h = new HealthState(() => 0);
  for (const k of keys) h.setHealth(k, 'down');
  return h;
}
const TREE_ALL = ['eu/e1', 'eu/e2', 'us/u1', 'us/u2', 'us/u0'];

describe('decide', () => {
  it('answers the tree when it has anything usable (allDown false)', () => {
    const d = decide(rec('all'), US, new HealthState(), { chooser: scripted([]) });
    expect(keysOf(d)).toEqual(['eu/e1', 'eu/e2']);
    expect(d.allDown).toBe(false);
  });

  it('uses the dice it is given (the DNS path rolls Math.random through the same pick)', () => {
    const chooser = scripted([0]);
    expect(keysOf(decide(rec('fallback'), US, new HealthState(), { chooser }))).toEqual(['eu/e1']);
    expect(chooser.draws).toEqual([[1, 3]]);
  });

  it('unknown health counts as up: a fresh state answers the tree', () => {
    expect(decide(rec('none'), US, new HealthState()).allDown).toBe(false);
  });
});

describe('on_all_down', () => {
  it('serve_all (the default) fails open: every endpoint of the tree with weight, not those an operator took out', () => {
    const h = healthWithDown(...TREE_ALL);
    const trace: TraceStep[] = [];
    const d = decide(rec('all'), US, h, { chooser: seededChooser(1), trace });
    expect(d.allDown).toBe(true);
    expect(keysOf(d)).toEqual(['eu/e1', 'eu/e2', 'us/u1', 'us/u2']);
    expect(trace.at(-1)).toEqual({ at: 'on_all_down', note: 'nothing usable: serve_all (fail open) with 4 endpoint(s)' });
    h.setOverride({ endpoint: 'eu/e2' }, { kind: 'force_down', reason: 'maintenance' });
    h.setOverride({ region: 'iad' }, { kind: 'drain' });
    expect(keysOf(decide(rec('all'), US, h))).toEqual(['eu/e1']);
  });

  it('serve_all with every endpoint taken out by an operator answers them all (never SERVFAIL, never empty)', () => {
    const h = new HealthState();
    h.setOverride({ region: 'fra' }, { kind: 'force_down' });
    h.setOverride({ region: 'iad' }, { kind: 'force_down' });
    const d = decide(rec('all'), US, h);
    expect(d.allDown).toBe(true);
    expect(keysOf(d).sort()).toEqual([...TREE_ALL].sort());
  });

  it('serve_none answers nothing: NODATA with the SOA (RFC 2308 §2.2)', () => {
    const d = decide(rec('none'), US, healthWithDown(...TREE_ALL));
    expect(d).toEqual({ endpoints: [], scope: 0, allDown: true });
    expect(policyRRset(rec('none').owner, rec('none'), d)).toBeNull();
  });

  it('a fallback pool answers its usable endpoints, else all of them', () => {
    const d = decide(rec('fallback'), US, healthWithDown('eu/e1', 'eu/e2'));
    expect(d.allDown).toBe(true);
    expect(keysOf(d)).toEqual(['sa/s1']);
    const worse = decide(rec('fallback'), US, healthWithDown('eu/e1', 'eu/e2', 'sa/s1'));
    expect(keysOf(worse)).toEqual(['sa/s1']);
    expect(worse.allDown).toBe(true);
  });

  it('keeps the scope the tree used before it found nothing (the answer still depended on the client)', () => {
    const d = decide(rec('geo'), client('128.101.101.101'), healthWithDown('us/u1', 'us/u2'));
    expect(d.allDown).toBe(true);
    expect(d.scope).toBe(23);
    const elsewhere = decide(rec('geo'), client('81.2.69.142'), new HealthState());
    expect(elsewhere.allDown).toBe(true);
    expect(elsewhere.scope).toBeGreaterThan(0);
  });
});
