/**
 * @module health/votes
 * Turns the votes of checkers in several regions into each endpoint's health view, and keeps
 * the votes for display (`GET /v1/health`, `GET /v1/regions`).
 *
 * Each checker region holds one vote per endpoint: its latest verdict (after rise/fall), with
 * the RTT, the reason and when it was taken. A vote older than the check's `stale_after` does
 * not count. The endpoint is `up` when at least `quorum` of the fresh votes say up (`majority`
 * of the fresh votes by default), `down` otherwise, and `unknown` with no fresh vote at all —
 * which policies treat as up. One checker's broken network therefore cannot fail an endpoint
 * over on its own, and a dead checker's votes age out by themselves.
 *
 * Every change of an endpoint's view is one structured log line. A sweep every second applies
 * staleness even when no vote arrives.
 *
 * Two more things come out of the votes, for the policies:
 * - **Smoothed RTTs** (latency `rtt_from: probes`): per checker region and endpoint, an
 *   exponentially weighted moving average of the RTTs of its up votes,
 *   `ewma ← α × rtt + (1 − α) × ewma` with α = {@link RTT_EWMA_ALPHA} (the first vote sets it);
 *   a down vote does not feed it, and it is dropped when its last vote goes stale. After a step
 *   change the average is halfway to the new RTT in two votes.
 * - **Reported weights** (an http(s) check with `weight_from`): the weight in the newest fresh
 *   vote that carries one replaces the endpoint's configured weight; when no fresh vote carries
 *   one, the configured weight returns.
 */
import { checkedEndpoints } from './endpoints.js';
import { votesNeeded, type CheckPlan } from '../checks/config.js';
import type { Health, HealthState } from '../policy/health-view.js';
import type { Endpoint } from '../policy/types.js';
import type { Logger } from '../log.js';

/** One checker region's verdict on one endpoint. */
export interface Vote {
  /** Endpoint key (`pool/id`). */
  readonly endpoint: string;
  /** Region id of the checker that voted. */
  readonly checker: string;
  readonly up: boolean;
  readonly rttMs: number;
  readonly reason: string;
  /** Milliseconds since the epoch when the observation was made. */
  readonly at: number;
  /** In a cluster: the id of the process that cast it (its region's active checker then). */
  readonly by?: string;
  /** The weight the target reported in this run (an http(s) check with `weight_from`). */
  readonly weight?: number;
}

/** The weight of the newest RTT in the smoothed RTT (health/votes.ts module header). */
export const RTT_EWMA_ALPHA = 0.3;

interface Tracked {
  endpoint: Endpoint;
  plan: CheckPlan;
  view: Health;
  votes: Map<string, Vote>;
  /** Smoothed RTT per checker region, and the time of the vote that last fed it. */
  rtt: Map<string, { ewmaMs: number; at: number }>;
  /** The reported weight in force (set in the health view), if any. */
  reported: number | undefined;
}

export interface EndpointHealthView {
  endpoint: string;
  pool: string;
  region: string;
  address: string;
  check: string | null;
  state: Health;
  quorum: string | number;
  stale_after_ms: number;
  /** Old name of `stale_after_ms`, until the next minor release (docs/api.md, "Field names"). */
  staleAfterMs: number;
  /** The configured weight. */
  weight: number;
  /** The weight the target reports in the newest fresh vote that carries one; null when none. */
  reported_weight: number | null;
  /** The weight the policies use: reported_weight when there is one, else weight. */
  effective_weight: number;
  votes: VoteView[];
}

/**
 * A vote as the admin API shows it. The API's fields are snake_case (docs/api.md, "Field
 * names"); `rttMs` and `ageMs` are the old names of `rtt_ms` and `age_ms`, sent beside them,
 * equal, until the next minor release.
 */
export interface VoteView {
  checker: string;
  by?: string;
  up: boolean;
  rtt_ms: number;
  reason: string;
  age_ms: number;
  fresh: boolean;
  /** The smoothed RTT from this checker region (latency `rtt_from: probes`); null when there is none. */
  smoothed_rtt_ms: number | null;
  /** The weight the target reported in this vote, when its check reads one. */
  weight?: number;
  rttMs: number;
  ageMs: number;
}

export class VoteStore {
  readonly #tracked = new Map<string, Tracked>();
  readonly #health: HealthState;
  readonly #log: Logger;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  readonly #listeners = new Set<() => void>();
  /** Called for every vote taken (metrics). */
  observeVote: ((v: Vote) => void) | undefined;
  /** The most recent changes of any endpoint's view, newest last (the status page shows them). */
  readonly #transitions: { at: number; endpoint: string; region: string; from: Health; to: Health; reason: string }[] = [];

  constructor(health: HealthState, log: Logger, now: () => number = Date.now) {
    this.#health = health;
    this.#log = log;
    this.#now = now;
  }

  /** Starts the staleness sweep. */
  start(sweepMs = 1000): void {
    this.#timer ??= setInterval(() => this.sweep(), sweepMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Called after every change of any view (persistence listens). */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * The endpoints being judged (every endpoint with a check, across all zones). Votes of
   * endpoints that remain are kept; endpoints that went away are forgotten.
   */
  setEndpoints(endpoints: Iterable<Endpoint>): void {
    const wanted = checkedEndpoints(endpoints);
    const seen = new Set(wanted.map((ep) => ep.key));
    for (const ep of wanted) {
      const t = this.#tracked.get(ep.key);
      if (t) {
        t.endpoint = ep;
        t.plan = ep.check;
      } else {
        this.#tracked.set(ep.key, { endpoint: ep, plan: ep.check, view: 'unknown', votes: new Map(), rtt: new Map(), reported: undefined });
      }
    }
    for (const [key, t] of this.#tracked) {
      if (seen.has(key)) continue;
      this.#tracked.delete(key);
      if (t.view !== 'unknown') this.#health.setHealth(key, 'unknown');
      this.#health.setReportedWeight(key, undefined);
      for (const checker of t.rtt.keys()) this.#health.setProbeRtt(checker, key, undefined);
    }
    this.sweep();
  }

  /** Records votes (newer than what is held for the same endpoint and checker) and re-judges. */
  record(votes: Iterable<Vote>): number {
    let taken = 0;
    const touched = new Set<Tracked>();
    for (const v of votes) {
      const t = this.#tracked.get(v.endpoint);
      if (!t) continue;
      const held = t.votes.get(v.checker);
      if (held && held.at > v.at) continue;
      // A vote seen again (etcd replays the latest) does not feed the average twice.
      if (v.up && !(held && held.at === v.at)) {
        const prev = t.rtt.get(v.checker);
        const ewmaMs = prev ? RTT_EWMA_ALPHA * v.rttMs + (1 - RTT_EWMA_ALPHA) * prev.ewmaMs : v.rttMs;
        t.rtt.set(v.checker, { ewmaMs, at: v.at });
        this.#health.setProbeRtt(v.checker, t.endpoint.key, ewmaMs);
      }
      t.votes.set(v.checker, v);
      this.observeVote?.(v);
      touched.add(t);
      taken++;
    }
    for (const t of touched) this.#judge(t);
    return taken;
  }

  /** Drops one checker region's vote on an endpoint (its lease in etcd expired) and re-judges. */
  forget(endpoint: string, checker: string): void {
    const t = this.#tracked.get(endpoint);
    if (t?.votes.delete(checker)) this.#judge(t);
  }

  /** Smoothed RTTs whose last vote is gone or stale are dropped; the newest fresh reported weight is put in force. */
  #refresh(t: Tracked, now: number): void {
    for (const [checker, r] of t.rtt) {
      const v = t.votes.get(checker);
      if (v && now - r.at <= t.plan.staleAfterMs) continue;
      t.rtt.delete(checker);
      this.#health.setProbeRtt(checker, t.endpoint.key, undefined);
    }
    let newest: Vote | undefined;
    for (const v of t.votes.values()) if (v.weight !== undefined && now - v.at <= t.plan.staleAfterMs && (!newest || v.at > newest.at)) newest = v;
    const reported = newest?.weight;
    if (reported === t.reported) return;
    this.#log.info(
      { endpoint: t.endpoint.key, weight: t.endpoint.weight, from: t.reported ?? null, to: reported ?? null, checker: newest?.checker },
      reported === undefined ? 'reported weight stale; configured weight back' : 'reported weight in force',
    );
    t.reported = reported;
    this.#health.setReportedWeight(t.endpoint.key, reported);
  }

  /** Keeps only the votes `keep` says to keep (a reload of every vote from etcd), and re-judges. */
  retain(keep: (endpoint: string, checker: string) => boolean): void {
    for (const [key, t] of this.#tracked) {
      for (const checker of [...t.votes.keys()]) if (!keep(key, checker)) t.votes.delete(checker);
    }
    this.sweep();
  }

  /** Re-judges every endpoint (votes may have gone stale). */
  sweep(): void {
    for (const t of this.#tracked.values()) this.#judge(t);
  }

  #judge(t: Tracked): void {
    const now = this.#now();
    this.#refresh(t, now);
    let fresh = 0;
    let ups = 0;
    for (const v of t.votes.values()) {
      if (now - v.at > t.plan.staleAfterMs) continue;
      fresh++;
      if (v.up) ups++;
    }
    const view: Health = fresh === 0 ? 'unknown' : ups >= votesNeeded(t.plan.quorum, fresh) ? 'up' : 'down';
    if (view === t.view) return;
    const from = t.view;
    t.view = view;
    this.#health.setHealth(t.endpoint.key, view);
    const votes = [...t.votes.values()].map((v) => ({
      checker: v.checker,
      up: v.up,
      reason: v.reason,
      rttMs: Math.round(v.rttMs),
      ageMs: now - v.at,
      fresh: now - v.at <= t.plan.staleAfterMs,
    }));
    const reason =
      view === 'unknown'
        ? 'no fresh votes'
        : view === 'up'
          ? `${ups} of ${fresh} fresh votes up`
          : `${fresh - ups} of ${fresh} fresh votes down: ${[...new Set(votes.filter((v) => v.fresh && !v.up).map((v) => v.reason))].join(', ')}`;
    this.#log.info({ endpoint: t.endpoint.key, region: t.endpoint.region, from, to: view, reason, quorum: t.plan.quorum, votes }, 'endpoint health changed');
    this.#transitions.push({ at: now, endpoint: t.endpoint.key, region: t.endpoint.region, from, to: view, reason });
    if (this.#transitions.length > 200) this.#transitions.shift();
    for (const fn of this.#listeners) fn();
  }

  /** Every judged endpoint with its votes, for the admin API. */
  view(): EndpointHealthView[] {
    const now = this.#now();
    return [...this.#tracked.values()].map((t) => ({
      endpoint: t.endpoint.key,
      pool: t.endpoint.pool,
      region: t.endpoint.region,
      address: t.endpoint.value,
      check: t.plan.id,
      state: t.view,
      quorum: t.plan.quorum,
      stale_after_ms: t.plan.staleAfterMs,
      staleAfterMs: t.plan.staleAfterMs,
      weight: t.endpoint.weight,
      reported_weight: t.reported ?? null,
      effective_weight: t.reported ?? t.endpoint.weight,
      votes: [...t.votes.values()].map((v): VoteView => {
        const rtt = Math.round(v.rttMs * 10) / 10;
        const age = now - v.at;
        return {
          checker: v.checker,
          ...(v.by ? { by: v.by } : {}),
          up: v.up,
          rtt_ms: rtt,
          reason: v.reason,
          age_ms: age,
          fresh: age <= t.plan.staleAfterMs,
          smoothed_rtt_ms: t.rtt.has(v.checker) ? Math.round(t.rtt.get(v.checker)!.ewmaMs * 10) / 10 : null,
          ...(v.weight !== undefined ? { weight: v.weight } : {}),
          rttMs: rtt,
          ageMs: age,
        };
      }),
    }));
  }

  /** Recent view changes, newest first. */
  transitions(limit = 50): { at: string; endpoint: string; region: string; from: Health; to: Health; reason: string }[] {
    return this.#transitions
      .slice(-limit)
      .reverse()
      .map((t) => ({ ...t, at: new Date(t.at).toISOString() }));
  }

  /** All votes held, for persistence. */
  votes(): Vote[] {
    return [...this.#tracked.values()].flatMap((t) => [...t.votes.values()]);
  }

  /** True once every judged endpoint has at least one vote (or there is none to judge). */
  hasFirstRound(): boolean {
    for (const t of this.#tracked.values()) if (t.votes.size === 0) return false;
    return true;
  }
}
