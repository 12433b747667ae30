/**
 * The vote store's judgement: quorum over fresh votes, staleness, unknown without votes, and one
 * log line per change. A fake clock drives staleness; the cross-process version of the same
 * story (real checkers, real targets) is in test/e2e/health.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { RTT_EWMA_ALPHA, VoteStore, type Vote } from './votes.js';
import { HealthState } from '../policy/health-view.js';
import type { CheckPlan, Quorum } from '../checks/config.js';
import type { Endpoint } from '../policy/types.js';
import type { Logger } from '../log.js';

function plan(quorum: Quorum, staleAfterMs = 3000): CheckPlan {
  return {
    id: 'c',
    root: { kind: 'probe', id: 'c', inverted: false, probe: { type: 'tcp', port: 1, address: undefined } },
    intervalMs: 1000,
    timeoutMs: 500,
    rise: 2,
    fall: 2,
    jitter: 0,
    quorum,
    staleAfterMs,
  };
}
function endpoint(quorum: Quorum): Endpoint {
  return {
    key: 'web/a',
    pool: 'web',
    id: 'a',
    region: 'eu',
    weight: 1,
    rrtype: 1,
    rdata: Buffer.from([192, 0, 2, 1]),
    value: '192.0.2.1',
    seed: 1,
    check: plan(quorum),
  };
}
function logger(lines: unknown[]): Logger {
  const l = { info: (o: unknown) => lines.push(o), warn: () => {}, error: () => {}, debug: () => {}, child: () => l } as unknown as Logger;
  return l;
}

function setup(quorum: Quorum) {
  let now = 1_000_000;
  const health = new HealthState();
  const lines: unknown[] = [];
  const store = new VoteStore(health, logger(lines), () => now);
  store.setEndpoints([endpoint(quorum)]);
  const vote = (checker: string, up: boolean, ageMs = 0): Vote => ({
    endpoint: 'web/a',
    checker,
    up,
    rttMs: 3,
    reason: up ? 'ok' : 'timeout',
    at: now - ageMs,
  });
  return { health, store, lines, vote, advance: (ms: number) => (now += ms), state: () => health.health('web/a') };
}

describe('vote store (docs/health.md "Regions, votes and quorum")', () => {
  it('no vote at all → unknown (policies treat it as up)', () => {
    const t = setup('majority');
    expect(t.state()).toBe('unknown');
  });

  it('majority of fresh votes: 2 up, 1 down → up; 1 up, 2 down → down', () => {
    const t = setup('majority');
    t.store.record([t.vote('us', true), t.vote('eu', true), t.vote('ap', false)]);
    expect(t.state()).toBe('up');
    t.store.record([t.vote('eu', false)]);
    expect(t.state()).toBe('down');
  });

  it('a checker whose votes go stale stops counting', () => {
    const t = setup('majority');
    t.store.record([t.vote('us', true), t.vote('eu', false), t.vote('ap', false)]);
    expect(t.state()).toBe('down');
    t.advance(2000);
    t.store.record([t.vote('us', true), t.vote('eu', false)]); // ap stops voting
    t.advance(1500); // ap's vote is now 3.5 s old: stale
    t.store.record([t.vote('us', true), t.vote('eu', false)]);
    // 1 up of 2 fresh: majority of 2 is 2 → still down; with eu back up it turns up.
    expect(t.state()).toBe('down');
    t.store.record([t.vote('eu', true)]);
    expect(t.state()).toBe('up');
  });

  it('every vote stale → unknown again, found by the sweep without new votes', () => {
    const t = setup('majority');
    t.store.record([t.vote('us', false)]);
    expect(t.state()).toBe('down');
    t.advance(3001);
    t.store.sweep();
    expect(t.state()).toBe('unknown');
  });

  it.each<[Quorum, boolean[], string]>([
    ['any', [true, false, false], 'up'],
    ['all', [true, true, false], 'down'],
    ['all', [true, true, true], 'up'],
    [2, [true, true, false], 'up'],
    [2, [true, false, false], 'down'],
    ['majority', [true, false], 'down'],
  ])('quorum %s with votes %j → %s', (quorum, ups, want) => {
    const t = setup(quorum);
    t.store.record(ups.map((up, i) => t.vote(`r${i}`, up)));
    expect(t.state()).toBe(want);
  });

  it('an older vote never replaces a newer one from the same checker', () => {
    const t = setup('majority');
    t.store.record([t.vote('us', true)]);
    t.store.record([t.vote('us', false, 500)]);
    expect(t.state()).toBe('up');
  });

  it('one structured log line per change, with endpoint, region, from, to, reason and votes', () => {
    const t = setup('majority');
    t.store.record([t.vote('us', false), t.vote('eu', false)]);
    t.store.record([t.vote('us', false)]); // no change: no line
    expect(t.lines).toHaveLength(1);
    expect(t.lines[0]).toMatchObject({ endpoint: 'web/a', region: 'eu', from: 'unknown', to: 'down', reason: expect.stringContaining('timeout') });
    expect((t.lines[0] as { votes: unknown[] }).votes).toHaveLength(2);
  });

  it('an endpoint that leaves the zones is forgotten and its view reset', () => {
    const t = setup('majority');
    t.store.record([t.vote('us', false)]);
    t.store.setEndpoints([]);
    expect(t.state()).toBe('unknown');
    expect(t.store.view()).toEqual([]);
  });
});

describe('smoothed RTTs and reported weights (what latency rtt_from: probes and weight_from read)', () => {
  const ep = endpoint('majority');
  const at = (now: number, checker: string, rttMs: number, extra: Partial<Vote> = {}): Vote => ({
    endpoint: 'web/a',
    checker,
    up: true,
    rttMs,
    reason: 'ok',
    at: now,
    ...extra,
  });

  it('keeps an EWMA (α = RTT_EWMA_ALPHA) of up-vote RTTs per checker region, ignores down votes and replays, drops it when stale', () => {
    let now = 1_000_000;
    const health = new HealthState();
    const store = new VoteStore(health, logger([]), () => now);
    store.setEndpoints([ep]);
    const rtt = (checker: string) => health.probeRtts().rttMs(checker, 'web/a');
    store.record([at(now, 'eu', 100), at(now, 'us', 10)]);
    expect(rtt('eu')).toBe(100);
    expect(health.probeRtts().vantages()).toEqual(['eu', 'us']);
    now += 1000;
    store.record([at(now, 'eu', 0)]);
    expect(rtt('eu')).toBeCloseTo((1 - RTT_EWMA_ALPHA) * 100, 9);
    // The same vote again (etcd replays the latest) does not count twice; a down vote does not feed it.
    store.record([at(now, 'eu', 0)]);
    expect(rtt('eu')).toBeCloseTo((1 - RTT_EWMA_ALPHA) * 100, 9);
    now += 1000;
    store.record([at(now, 'eu', 5000, { up: false, reason: 'timeout' })]);
    expect(rtt('eu')).toBeCloseTo((1 - RTT_EWMA_ALPHA) * 100, 9);
    // us's last vote is 2 s old; stale after 3 s.
    now += 1500;
    store.sweep();
    expect(rtt('us')).toBeUndefined();
    expect(health.probeRtts().vantages()).toEqual(['eu']);
    expect(store.view()[0]!.votes.find((v) => v.checker === 'eu')!.smoothed_rtt_ms).toBe(70);
  });

  it('a fresh reported weight replaces the configured one (0 drains); stale, the configured weight returns', () => {
    let now = 1_000_000;
    const health = new HealthState();
    const lines: unknown[] = [];
    const store = new VoteStore(health, logger(lines), () => now);
    store.setEndpoints([ep]);
    expect(health.weight(ep)).toBe(1);
    store.record([at(now, 'eu', 3, { weight: 9 })]);
    expect(health.weight(ep)).toBe(9);
    expect(store.view()[0]).toMatchObject({ weight: 1, reported_weight: 9, effective_weight: 9 });
    now += 500;
    store.record([at(now, 'us', 3, { weight: 0 })]);
    expect(health.weight(ep)).toBe(0); // the newest fresh report wins
    now += 500;
    store.record([at(now, 'us', 3)]); // us stopped reporting: eu's 9 is the newest fresh report
    expect(health.weight(ep)).toBe(9);
    now += 3000;
    store.sweep(); // eu's report is 4 s old: stale
    expect(health.weight(ep)).toBe(1);
    expect(store.view()[0]).toMatchObject({ reported_weight: null, effective_weight: 1 });
    expect(lines.filter((l) => (l as { to?: unknown }).to === null || typeof (l as { to?: unknown }).to === 'number').length).toBeGreaterThanOrEqual(3);
  });
});
