/**
 * @module health/checker
 * Runs the health checks of every endpoint from one vantage region and publishes a vote per
 * endpoint after each run. Each endpoint has its own timer: the first run comes after a random
 * part of the interval, and every later one after the interval moved by ± `jitter`, so checks do
 * not fire together. A run probes (all probes of a calculated check at once), combines, then
 * applies rise/fall: the first result sets the state, after that `rise` consecutive ups turn a
 * down endpoint up and `fall` consecutive downs turn an up one down. The vote carries the state,
 * the RTT and the reason of the latest run, and the weight the target reported when its check
 * reads one (`weight_from`). Each probe is aimed at the endpoint by its check
 * type (checks/registry.ts), and run by the prober (health/probe.ts).
 *
 * Nothing here is on the DNS path: probes run on the event loop's I/O, each bounded by its
 * timeout, and a hanging target only delays its own next run.
 */
import { RRType } from '../proto/types.js';
import { checkedEndpoints } from './endpoints.js';
import type { CheckNode, CheckPlan } from '../checks/config.js';
import type { ProbeTarget } from '../checks/check.js';
import { checkTypeOf, type ProbePlan, type ProbeSpec } from '../checks/registry.js';
import type { Prober, ProbeResult } from './probe.js';
import type { Vote } from './votes.js';
import type { Endpoint } from '../policy/types.js';
import type { Logger } from '../log.js';

export interface CheckerOptions {
  /** The region this checker votes for. */
  readonly region: string;
  readonly prober: Prober;
  /** Where votes go: the local vote store, or a node's admin API (health/remote.ts). */
  readonly publish: (votes: Vote[]) => void;
  readonly log: Logger;
  readonly random?: () => number;
}

interface Task {
  endpoint: Endpoint;
  plan: CheckPlan;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
  state: 'unknown' | 'up' | 'down';
  ups: number;
  downs: number;
  last: ProbeResult | undefined;
  /** Why the latest run got no reported weight (logged once per change). */
  weightError?: string | undefined;
}

/** The probe spec for one probe of a check, aimed at an endpoint (by the plan's check type). */
export function probeSpecFor(plan: ProbePlan, ep: Endpoint, timeoutMs: number): ProbeSpec {
  const hostname = ep.rrtype === RRType.CNAME ? ep.value.replace(/\.$/, '') : undefined;
  const target: ProbeTarget = { address: plan.address ?? hostname ?? ep.value, hostname };
  return checkTypeOf(plan.type)!.aim(plan, target, timeoutMs) as ProbeSpec;
}

export class Checker {
  readonly #opts: CheckerOptions;
  readonly #tasks = new Map<string, Task>();
  readonly #random: () => number;
  #stopped = false;

  constructor(opts: CheckerOptions) {
    this.#opts = opts;
    this.#random = opts.random ?? Math.random;
  }

  get region(): string {
    return this.#opts.region;
  }

  /** The endpoints to check (every endpoint with a check). Tasks of endpoints that remain keep their state. */
  setEndpoints(endpoints: Iterable<Endpoint>): void {
    const wanted = checkedEndpoints(endpoints);
    const seen = new Set(wanted.map((ep) => ep.key));
    for (const ep of wanted) {
      const t = this.#tasks.get(ep.key);
      if (t) {
        const retarget = t.endpoint.value !== ep.value || t.plan.intervalMs !== ep.check.intervalMs;
        t.endpoint = ep;
        t.plan = ep.check;
        if (retarget) this.#schedule(t, true);
      } else {
        const task: Task = { endpoint: ep, plan: ep.check, timer: undefined, running: false, state: 'unknown', ups: 0, downs: 0, last: undefined };
        this.#tasks.set(ep.key, task);
        this.#schedule(task, true);
      }
    }
    for (const [key, t] of this.#tasks) {
      if (seen.has(key)) continue;
      clearTimeout(t.timer);
      this.#tasks.delete(key);
    }
  }

  #schedule(t: Task, first: boolean): void {
    clearTimeout(t.timer);
    if (this.#stopped) return;
    const { intervalMs, jitter } = t.plan;
    const delay = first ? this.#random() * Math.min(intervalMs, 1000 + intervalMs * jitter) : intervalMs * (1 + jitter * (2 * this.#random() - 1));
    t.timer = setTimeout(() => void this.#run(t), delay);
  }

  async #run(t: Task): Promise<void> {
    if (t.running || this.#stopped) return;
    t.running = true;
    try {
      const result = await this.#evaluate(t.plan.root, t.endpoint, t.plan.timeoutMs);
      if (this.#stopped || this.#tasks.get(t.endpoint.key) !== t) return;
      t.last = result;
      if (result.up) {
        t.ups++;
        t.downs = 0;
      } else {
        t.downs++;
        t.ups = 0;
      }
      const before = t.state;
      if (t.state === 'unknown') t.state = result.up ? 'up' : 'down';
      else if (t.state === 'down' && t.ups >= t.plan.rise) t.state = 'up';
      else if (t.state === 'up' && t.downs >= t.plan.fall) t.state = 'down';
      if (t.state !== before) {
        this.#opts.log.debug({ endpoint: t.endpoint.key, checker: this.#opts.region, from: before, to: t.state, reason: result.reason }, 'check state changed');
      }
      const vote: Vote = {
        endpoint: t.endpoint.key,
        checker: this.#opts.region,
        up: t.state === 'up',
        rttMs: result.rttMs,
        reason: result.reason,
        at: result.at,
      };
      this.#opts.publish([result.weight !== undefined ? { ...vote, weight: result.weight } : vote]);
      if (result.weightError !== undefined && result.weightError !== t.weightError)
        this.#opts.log.warn({ endpoint: t.endpoint.key, checker: this.#opts.region, reason: result.weightError }, 'target reported no weight');
      t.weightError = result.weightError;
    } catch (err) {
      this.#opts.log.error({ endpoint: t.endpoint.key, err }, 'health check failed to run');
    } finally {
      t.running = false;
      if (this.#tasks.get(t.endpoint.key) === t) this.#schedule(t, false);
    }
  }

  async #evaluate(node: CheckNode, ep: Endpoint, timeoutMs: number): Promise<ProbeResult> {
    let r: ProbeResult;
    if (node.kind === 'probe') {
      r = await this.#opts.prober.probe(probeSpecFor(node.probe, ep, timeoutMs));
    } else {
      const results = await Promise.all(node.children.map((c) => this.#evaluate(c, ep, timeoutMs)));
      const ups = results.filter((x) => x.up).length;
      const up = ups >= node.n;
      const failing = results.map((x, i) => (x.up ? null : `${node.children[i]!.id}: ${x.reason}`)).filter((x) => x !== null);
      r = {
        up,
        rttMs: Math.max(0, ...results.map((x) => x.rttMs)),
        reason: up ? 'ok' : `${ups} of ${results.length} up, need ${node.n} (${failing.join('; ')})`,
        at: Math.max(...results.map((x) => x.at)),
      };
      // The weight of a calculated check: the smallest its probes report.
      const weights = results.flatMap((x) => (x.weight !== undefined ? [x.weight] : []));
      if (weights.length > 0) r.weight = Math.min(...weights);
      else if (results.some((x) => x.weightError !== undefined)) r.weightError = results.find((x) => x.weightError !== undefined)!.weightError!;
    }
    if (node.inverted) r = { ...r, up: !r.up, reason: r.up ? `inverted: ${r.reason}` : `inverted: ${r.reason}` };
    return r;
  }

  /** Each task's latest state, for display. */
  states(): { endpoint: string; state: string; last: ProbeResult | undefined }[] {
    return [...this.#tasks.values()].map((t) => ({ endpoint: t.endpoint.key, state: t.state, last: t.last }));
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#tasks.values()) clearTimeout(t.timer);
    this.#tasks.clear();
  }
}
