/**
 * The checker's judgement of one endpoint: rise/fall, calculated checks (all / any / at_least),
 * `inverted`. Probes here are scripted so that each rule is shown exactly; real targets are in
 * test/e2e/probes.test.ts and test/e2e/health.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Checker } from './checker.js';
import { compileChecks, type CheckPlan } from '../checks/config.js';
import type { CheckEntry } from '../checks/schema.js';
import type { Prober, ProbeResult, ProbeSpec } from './probe.js';
import type { Vote } from './votes.js';
import type { Endpoint } from '../policy/types.js';
import type { Logger } from '../log.js';

const silent = { info() {}, warn() {}, error() {}, debug() {}, child: () => silent } as unknown as Logger;

function plans(entries: CheckEntry[]): Map<string, CheckPlan> {
  const { plans, problems } = compileChecks(entries, () => false);
  expect(problems).toEqual([]);
  return plans;
}

function endpoint(check: CheckPlan): Endpoint {
  return { key: 'p/e', pool: 'p', id: 'e', region: 'r', weight: 1, rrtype: 1, rdata: Buffer.from([192, 0, 2, 1]), value: '192.0.2.1', seed: 1, check };
}

/** A prober whose result per port is set by the test. */
function scripted(): { prober: Prober; up: Map<number, boolean> } {
  const up = new Map<number, boolean>();
  const prober: Prober = {
    probe: async (spec: ProbeSpec): Promise<ProbeResult> => ({
      up: up.get(spec.port) ?? false,
      rttMs: 1,
      reason: up.get(spec.port) ? 'ok' : 'refused',
      at: Date.now(),
    }),
    close: async () => undefined,
  };
  return { prober, up };
}

async function votesAfter(checker: Checker, votes: Vote[], n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (votes.length < n) {
    if (Date.now() > deadline) throw new Error('no votes');
    await new Promise((r) => setTimeout(r, 20));
  }
  void checker;
}

describe('checker', () => {
  it('first result sets the state; then rise and fall need consecutive results', async () => {
    const p = plans([{ id: 't', type: 'tcp', port: 1, interval: 1, timeout: 0.2, rise: 2, fall: 3, jitter: 0 }]);
    const { prober, up } = scripted();
    const votes: Vote[] = [];
    const checker = new Checker({ region: 'r', prober, publish: (v) => votes.push(...v), log: silent, random: () => 0 });
    up.set(1, true);
    checker.setEndpoints([endpoint(p.get('t')!)]);
    await votesAfter(checker, votes, 1);
    expect(votes.at(-1)!.up).toBe(true);
    up.set(1, false);
    await votesAfter(checker, votes, 3); // two downs: still up (fall 3)
    expect(votes.slice(1, 3).map((v) => v.up)).toEqual([true, true]);
    await votesAfter(checker, votes, 4); // third down: down
    expect(votes[3]!.up).toBe(false);
    expect(votes[3]!.reason).toBe('refused');
    checker.stop();
  }, 15_000);

  it.each<[string, CheckEntry, Record<number, boolean>, boolean]>([
    ['all: one child down → down', { id: 'c', type: 'all', checks: ['a', 'b'] }, { 1: true, 2: false }, false],
    ['all: both up → up', { id: 'c', type: 'all', checks: ['a', 'b'] }, { 1: true, 2: true }, true],
    ['any: one up → up', { id: 'c', type: 'any', checks: ['a', 'b'] }, { 1: false, 2: true }, true],
    ['at_least 2 of 3: two up → up', { id: 'c', type: 'at_least', at_least: 2, checks: ['a', 'b', 'd'] }, { 1: true, 2: false, 3: true }, true],
    ['at_least 2 of 3: one up → down', { id: 'c', type: 'at_least', at_least: 2, checks: ['a', 'b', 'd'] }, { 1: true, 2: false, 3: false }, false],
    ['inverted: a maintenance flag that is up means down', { id: 'c', type: 'tcp', port: 1, inverted: true }, { 1: true }, false],
    ['inverted calculated: any up, inverted → down', { id: 'c', type: 'any', checks: ['a', 'b'], inverted: true }, { 1: true, 2: false }, false],
  ])('%s', async (_name, entry, results, want) => {
    const p = plans([
      { id: 'a', type: 'tcp', port: 1 },
      { id: 'b', type: 'tcp', port: 2 },
      { id: 'd', type: 'tcp', port: 3 },
      { ...entry, interval: 1, timeout: 0.2, jitter: 0 },
    ]);
    const { prober, up } = scripted();
    for (const [port, u] of Object.entries(results)) up.set(Number(port), u);
    const votes: Vote[] = [];
    const checker = new Checker({ region: 'r', prober, publish: (v) => votes.push(...v), log: silent, random: () => 0 });
    checker.setEndpoints([endpoint(p.get('c')!)]);
    await votesAfter(checker, votes, 1);
    checker.stop();
    expect(votes[0]!.up).toBe(want);
  });
});

describe('check configuration', () => {
  it.each<[string, CheckEntry[], string]>([
    ['timeout not below the interval', [{ id: 'a', type: 'tcp', port: 1, interval: '2s', timeout: '2s' }], 'must be less than the interval'],
    ['interval under 1 s', [{ id: 'a', type: 'tcp', port: 1, interval: '500ms', timeout: '100ms' }], 'at least 1s'],
    ['tcp without a port', [{ id: 'a', type: 'tcp' }], 'needs a port'],
    [
      'at_least larger than its list',
      [
        { id: 'a', type: 'tcp', port: 1 },
        { id: 'c', type: 'at_least', at_least: 3, checks: ['a'] },
      ],
      'from 1 to the number of checks',
    ],
    [
      'a loop of calculated checks',
      [
        { id: 'x', type: 'all', checks: ['y'] },
        { id: 'y', type: 'any', checks: ['x'] },
      ],
      'in a loop',
    ],
    ['body and body_regex together', [{ id: 'a', type: 'http', body: 'ok', body_regex: 'ok' }], 'not both'],
    ['a bad regular expression', [{ id: 'a', type: 'http', body_regex: '(' }], 'not a regular expression'],
    ['follow_redirects: true', [{ id: 'a', type: 'http', follow_redirects: true }], 'not supported'],
  ])('%s is rejected', (_name, entries, message) => {
    const { problems } = compileChecks(entries, () => false);
    expect(problems.map((p) => String(p.args.join(' '))).join('\n')).toContain(message);
  });

  it('defaults: interval 10 s, timeout 2 s, rise 2, fall 3, majority, stale after 3 intervals', () => {
    const p = plans([{ id: 'a', type: 'http' }]).get('a')!;
    expect(p).toMatchObject({ intervalMs: 10_000, timeoutMs: 2000, rise: 2, fall: 3, quorum: 'majority', staleAfterMs: 30_000, jitter: 0.1 });
    expect(p.root).toMatchObject({ kind: 'probe', probe: { path: '/', method: 'GET', expectStatus: [200, 399], tlsVerify: true } });
  });
});
