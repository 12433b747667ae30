/**
 * The vote store's judgement: quorum over fresh votes, staleness, unknown without votes, and one
 * log line per change. A fake clock drives staleness; the cross-process version of the same
 * story (real checkers, real targets) is in test/e2e/health.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { VoteStore, type Vote } from './votes.js';
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
