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
}

/**
 * A mutable health view: the node's current verdicts and overrides. Endpoint keys are
 * `pool/id` (see policy/types.ts), region keys are region ids; both are global across zones.
 */
export class HealthState implements HealthView {
  readonly #health = new Map<string, Health>();
  readonly #endpointOverrides = new Map<string, Override>();
  readonly #regionOverrides = new Map<string, Override>();
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

  /** Forgets every verdict (all endpoints become unknown). */
  clearHealth(): void {
    this.#health.clear();
    this.#changed();
  }

  setOverride(target: { endpoint: string } | { region: string }, override: Override | null): void {
    const [map, key] = 'endpoint' in target ? [this.#endpointOverrides, target.endpoint] : [this.#regionOverrides, target.region];
    if (override === null) map.delete(key);
    else map.set(key, override);
    this.#changed();
  }

  /** Every verdict and override, as data. */
  exportState(): HealthStateDump {
    return { health: [...this.#health], endpoints: [...this.#endpointOverrides], regions: [...this.#regionOverrides] };
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
export const ALL_UP: HealthView = { usable: () => true, excludedByOperator: () => false, reason: () => null };

/** Wraps a view so that the given regions count as down: the simulator's `what_if`. */
export function withRegionsDown(view: HealthView, regions: ReadonlySet<string>): HealthView {
  return {
    usable: (ep) => !regions.has(ep.region) && view.usable(ep),
    excludedByOperator: (ep) => view.excludedByOperator(ep),
    reason: (ep) => (regions.has(ep.region) ? `down (what-if: region ${ep.region} down)` : view.reason(ep)),
  };
}

/** Wraps a view so that the given endpoints (keys `pool/id`) count as down: what-if and drills. */
export function withEndpointsDown(view: HealthView, keys: ReadonlySet<string>): HealthView {
  return {
    usable: (ep) => !keys.has(ep.key) && view.usable(ep),
    excludedByOperator: (ep) => view.excludedByOperator(ep),
    reason: (ep) => (keys.has(ep.key) ? 'down (what-if)' : view.reason(ep)),
  };
}
