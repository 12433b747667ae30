/**
 * @module policy/health-view
 * The one interface through which policies see health: per endpoint `up`, `down` or `unknown`,
 * plus operator overrides (drain, force up, force down) on an endpoint or a whole region.
 * Tests set it directly; the health checkers (health/) fill it for real; the admin API sets
 * overrides. It is read synchronously on the query path and never awaits.
 *
 * Precedence, from strongest: an override on the endpoint, an override on its region, the
 * endpoint's health verdict. `unknown` counts as up (no verdict yet must not fail anything).
 */
import type { Endpoint } from './types.js';

export type Health = 'up' | 'down' | 'unknown';
export type OverrideKind = 'drain' | 'force_up' | 'force_down';

/** What policies ask. */
export interface HealthView {
  /** True when the endpoint may be answered now (health and overrides together). */
  usable(ep: Endpoint): boolean;
  /** True when an operator has forced the endpoint (or its region) down or drained it. */
  excludedByOperator(ep: Endpoint): boolean;
  /** Why an endpoint is not usable, in words; null when it is usable. For the simulator. */
  reason(ep: Endpoint): string | null;
  /**
   * The weight policies pick by: the weight the endpoint's target reports while that report is
   * fresh (an http(s) check with `weight_from`; 0 drains), else the configured weight.
   */
  weight(ep: Endpoint): number;
  /** The health probes' smoothed RTTs per checker region and endpoint (latency `rtt_from: probes`); null when none. */
  probeRtts(): ProbeRtts | null;
}

/**
 * Smoothed round-trip times of the health probes: per checker region and endpoint, an EWMA of
 * the RTTs of its up votes (health/votes.ts has the formula), dropped when its last vote goes
 * stale.
 */
export interface ProbeRtts {
  /** Checker regions that hold at least one smoothed RTT now. */
  vantages(): readonly string[];
  /** The smoothed RTT in ms from checker region `checker` to the endpoint of key `endpoint`, or undefined. */
  rttMs(checker: string, endpoint: string): number | undefined;
}

/** The probe RTT table a node keeps ({@link HealthState.probeRtts}): written by the vote store. */
export class ProbeRttTable implements ProbeRtts {
  readonly #byChecker = new Map<string, Map<string, number>>();
  #vantages: readonly string[] = [];

  vantages(): readonly string[] {
    return this.#vantages;
  }

  rttMs(checker: string, endpoint: string): number | undefined {
    return this.#byChecker.get(checker)?.get(endpoint);
  }

  /** Sets (or, with undefined, drops) one smoothed RTT. */
  set(checker: string, endpoint: string, ms: number | undefined): void {
    let m = this.#byChecker.get(checker);
    if (ms === undefined) {
      if (!m?.delete(endpoint)) return;
      if (m.size === 0) this.#byChecker.delete(checker);
    } else {
      if (!m) {
        m = new Map();
        this.#byChecker.set(checker, m);
      }
      m.set(endpoint, ms);
    }
    this.#vantages = [...this.#byChecker.keys()].sort();
  }

  clear(): void {
    this.#byChecker.clear();
    this.#vantages = [];
  }

  /** Every smoothed RTT, as [checker, endpoint, ms]. */
  entries(): [string, string, number][] {
    const out: [string, string, number][] = [];
    for (const [checker, m] of this.#byChecker) for (const [endpoint, ms] of m) out.push([checker, endpoint, ms]);
    return out;
  }
}

export interface Override {
  readonly kind: OverrideKind;
  readonly reason?: string;
  readonly by?: string;
  /** Milliseconds since the epoch after which it lifts by itself. */
  readonly expiresAt?: number;
}

/**
 * All of a {@link HealthState} as plain data (structured-clone and JSON safe): what a node sends
 * its DNS workers (state/replica.ts), so that theirs decides as its own does.
 */
export interface HealthStateDump {
  readonly health: readonly (readonly [string, Health])[];
  readonly endpoints: readonly (readonly [string, Override])[];
  readonly regions: readonly (readonly [string, Override])[];
  /** Weights the targets report, by endpoint key. */
  readonly reported?: readonly (readonly [string, number])[];
  /** Smoothed probe RTTs: [checker region, endpoint key, ms]. */
  readonly rtts?: readonly (readonly [string, string, number])[];
}

/**
 * A mutable health view: the node's current verdicts and overrides. Endpoint keys are
 * `pool/id` (see policy/types.ts), region keys are region ids; both are global across zones.
 */
export class HealthState implements HealthView {
  readonly #health = new Map<string, Health>();
  readonly #endpointOverrides = new Map<string, Override>();
  readonly #regionOverrides = new Map<string, Override>();
  /** Weights the targets report, by endpoint key, while fresh (health/votes.ts sets them). */
  readonly #reported = new Map<string, number>();
  readonly #rtts = new ProbeRttTable();
  readonly #now: () => number;
  readonly #listeners = new Set<() => void>();
  /** Bumped on every change, so holders can tell that answers may change. */
  version = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Calls `fn` after every change made through this object (a verdict, an override, an import); returns the unsubscribe. */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #changed(): void {
    this.version++;
    for (const fn of this.#listeners) fn();
  }

  health(key: string): Health {
    return this.#health.get(key) ?? 'unknown';
  }

  setHealth(key: string, health: Health): void {
    if (health === 'unknown') this.#health.delete(key);
    else this.#health.set(key, health);
    this.#changed();
  }

  /** Forgets every verdict (all endpoints become unknown), reported weight and probe RTT. */
  clearHealth(): void {
    this.#health.clear();
    this.#reported.clear();
    this.#rtts.clear();
    this.#changed();
  }

  /** Sets (or, with undefined, lifts) the weight an endpoint's target reports. */
  setReportedWeight(key: string, weight: number | undefined): void {
    if (weight === undefined ? !this.#reported.delete(key) : this.#reported.get(key) === weight) return;
    if (weight !== undefined) this.#reported.set(key, weight);
    this.#changed();
  }

  /** The fresh weight an endpoint's target reports, if any. */
  reportedWeight(key: string): number | undefined {
    return this.#reported.get(key);
  }

  weight(ep: Endpoint): number {
    if (this.#reported.size === 0) return ep.weight;
    return this.#reported.get(ep.key) ?? ep.weight;
  }

  /** Sets (or drops) the smoothed probe RTT from a checker region to an endpoint. */
  setProbeRtt(checker: string, endpoint: string, ms: number | undefined): void {
    this.#rtts.set(checker, endpoint, ms);
    this.#changed();
  }

  probeRtts(): ProbeRtts {
    return this.#rtts;
  }

  setOverride(target: { endpoint: string } | { region: string }, override: Override | null): void {
    const [map, key] = 'endpoint' in target ? [this.#endpointOverrides, target.endpoint] : [this.#regionOverrides, target.region];
    if (override === null) map.delete(key);
    else map.set(key, override);
    this.#changed();
  }

  /** Every verdict and override, as data. */
  exportState(): HealthStateDump {
    return {
      health: [...this.#health],
      endpoints: [...this.#endpointOverrides],
      regions: [...this.#regionOverrides],
      reported: [...this.#reported],
      rtts: this.#rtts.entries(),
    };
  }

  /** Replaces every verdict and override with `dump`'s (a DNS worker taking its node's state). */
  importState(dump: HealthStateDump): void {
    const fill = <V>(map: Map<string, V>, entries: readonly (readonly [string, V])[]): void => {
      map.clear();
      for (const [k, v] of entries) map.set(k, v);
    };
    fill(this.#health, dump.health);
    fill(this.#endpointOverrides, dump.endpoints);
    fill(this.#regionOverrides, dump.regions);
    fill(this.#reported, dump.reported ?? []);
    this.#rtts.clear();
    for (const [checker, endpoint, ms] of dump.rtts ?? []) this.#rtts.set(checker, endpoint, ms);
    this.#changed();
  }

  overrides(): { endpoints: ReadonlyMap<string, Override>; regions: ReadonlyMap<string, Override> } {
    return { endpoints: this.#endpointOverrides, regions: this.#regionOverrides };
  }

  /** The override in force for an endpoint (its own first, then its region's), if any. */
  overrideFor(ep: Endpoint): Override | undefined {
    if (this.#endpointOverrides.size === 0 && this.#regionOverrides.size === 0) return undefined;
    const own = this.#live(this.#endpointOverrides, ep.key);
    return own ?? this.#live(this.#regionOverrides, ep.region);
  }

  #live(map: Map<string, Override>, key: string): Override | undefined {
    const o = map.get(key);
    if (o?.expiresAt !== undefined && o.expiresAt <= this.#now()) {
      map.delete(key); // lifted by itself
      this.version++;
      return undefined;
    }
    return o;
  }

  /**
   * This view as it would be with some overrides lifted (those `lifted` returns true for): what a
   * running drill's guard compares against, to tell what the drill's own drain is doing.
   */
  without(lifted: (o: Override) => boolean): HealthView {
    const overrideFor = (ep: Endpoint): Override | undefined => {
      const own = this.#live(this.#endpointOverrides, ep.key);
      if (own && !lifted(own)) return own;
      const region = this.#live(this.#regionOverrides, ep.region);
      return region && !lifted(region) ? region : undefined;
    };
    return {
      usable: (ep) => {
        const o = overrideFor(ep);
        return o ? o.kind === 'force_up' : this.#health.get(ep.key) !== 'down';
      },
      excludedByOperator: (ep) => {
        const o = overrideFor(ep);
        return o !== undefined && o.kind !== 'force_up';
      },
      reason: (ep) => {
        const o = overrideFor(ep);
        if (o) return o.kind === 'force_up' ? null : `${o.kind === 'drain' ? 'drained' : 'forced down'} (override${o.reason ? `: ${o.reason}` : ''})`;
        return this.#health.get(ep.key) === 'down' ? 'down (health checks)' : null;
      },
      weight: (ep) => this.weight(ep),
      probeRtts: () => this.#rtts,
    };
  }

  usable(ep: Endpoint): boolean {
    const o = this.overrideFor(ep);
    if (o) return o.kind === 'force_up';
    return this.#health.get(ep.key) !== 'down';
  }

  excludedByOperator(ep: Endpoint): boolean {
    const o = this.overrideFor(ep);
    return o !== undefined && o.kind !== 'force_up';
  }

  reason(ep: Endpoint): string | null {
    const o = this.overrideFor(ep);
    if (o) {
      if (o.kind === 'force_up') return null;
      const where = this.#endpointOverrides.has(ep.key) ? 'endpoint' : `region ${ep.region}`;
      return `${o.kind === 'drain' ? 'drained' : 'forced down'} (${where} override${o.reason ? `: ${o.reason}` : ''})`;
    }
    return this.#health.get(ep.key) === 'down' ? 'down (health checks)' : null;
  }
}

/** A view in which every endpoint is usable (nothing known, nothing overridden). */
export const ALL_UP: HealthView = { usable: () => true, excludedByOperator: () => false, reason: () => null, weight: (ep) => ep.weight, probeRtts: () => null };

/** Wraps a view so that the given regions count as down: the simulator's `what_if`. */
export function withRegionsDown(view: HealthView, regions: ReadonlySet<string>): HealthView {
  return {
    usable: (ep) => !regions.has(ep.region) && view.usable(ep),
    excludedByOperator: (ep) => view.excludedByOperator(ep),
    reason: (ep) => (regions.has(ep.region) ? `down (what-if: region ${ep.region} down)` : view.reason(ep)),
    weight: (ep) => view.weight(ep),
    probeRtts: () => view.probeRtts(),
  };
}

/** Wraps a view so that the given endpoints (keys `pool/id`) count as down: what-if and drills. */
export function withEndpointsDown(view: HealthView, keys: ReadonlySet<string>): HealthView {
  return {
    usable: (ep) => !keys.has(ep.key) && view.usable(ep),
    excludedByOperator: (ep) => view.excludedByOperator(ep),
    reason: (ep) => (keys.has(ep.key) ? 'down (what-if)' : view.reason(ep)),
    weight: (ep) => view.weight(ep),
    probeRtts: () => view.probeRtts(),
  };
}
