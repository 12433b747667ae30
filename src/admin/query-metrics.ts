/**
 * @module admin/query-metrics
 * The counters the query path bumps (answers by zone, policy kind, rcode and type; policy answers
 * by region; the answer-time histogram), apart from the rest of admin/metrics.ts so that a DNS
 * worker (node/dns-worker.ts) keeps its own without loading prom-client, and hands them to its
 * node as plain data ({@link QueryMetrics.dump}), which adds every worker's up for `/metrics`.
 *
 * The query path only bumps a number in a Map and a bucket in an array (about 20 ns);
 * prom-client's labelled counters cost about 500 ns a call, too much at 100k queries a second.
 */
import type { Query } from '../proto/wire.js';
import type { Endpoint } from '../policy/types.js';

export class Histogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly buckets: readonly number[]) {
    this.counts = new Float64Array(buckets.length);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
  lines(name: string, labels = ''): string[] {
    const out: string[] = [];
    let cum = 0;
    const sep = labels ? ',' : '';
    this.buckets.forEach((le, i) => {
      cum += this.counts[i]!;
      out.push(`${name}_bucket{${labels}${sep}le="${le}"} ${cum}`);
    });
    out.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`);
    out.push(`${name}_sum${labels ? `{${labels}}` : ''} ${this.sum}`);
    out.push(`${name}_count${labels ? `{${labels}}` : ''} ${this.count}`);
    return out;
  }
}

/** Answer-time buckets, in seconds. */
export const ANSWER_BUCKETS = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05] as const;

/** {@link QueryMetrics} as plain data (structured-clone safe), to add up across processes. */
export interface QueryMetricsDump {
  /** [zone, policy kind, rcode << 16 | qtype, count]. */
  readonly queries: readonly (readonly [string, string, number, number])[];
  /** [zone, region, count]. */
  readonly policyRegions: readonly (readonly [string, string, number])[];
  readonly latency: { readonly counts: readonly number[]; readonly sum: number; readonly count: number };
}

export class QueryMetrics {
  /** zone → policy kind → (rcode << 16 | qtype) → count. Keys are strings the query path already holds, so no string is built per query. */
  readonly queries = new Map<string, Map<string, Map<number, number>>>();
  /** zone → endpoint region → policy answers that held an endpoint in that region. */
  readonly policyRegions = new Map<string, Map<string, number>>();
  readonly latency = new Histogram(ANSWER_BUCKETS);

  /** For dns/pipeline.ts: one answered query. */
  readonly observeQuery = (query: Query, rcode: number, zone: string | null, policy: string | null = null, endpoints?: readonly Endpoint[]): void => {
    this.#count(zone ?? '', policy ?? '', (rcode << 16) | query.qtype, 1);
    if (endpoints && endpoints.length > 0) {
      const z = zone ?? '';
      let byRegion = this.policyRegions.get(z);
      if (!byRegion) this.policyRegions.set(z, (byRegion = new Map()));
      // Each region once per answer; answers hold a handful of endpoints, so a scan back is cheaper than a Set.
      outer: for (let i = 0; i < endpoints.length; i++) {
        const region = endpoints[i]!.region;
        for (let j = 0; j < i; j++) if (endpoints[j]!.region === region) continue outer;
        byRegion.set(region, (byRegion.get(region) ?? 0) + 1);
      }
    }
  };

  /** For the transports: seconds from a message's arrival to its answer. */
  readonly observeLatency = (seconds: number): void => this.latency.observe(seconds);

  #count(zone: string, policy: string, key: number, n: number): void {
    let byPolicy = this.queries.get(zone);
    if (!byPolicy) this.queries.set(zone, (byPolicy = new Map()));
    let counts = byPolicy.get(policy);
    if (!counts) byPolicy.set(policy, (counts = new Map()));
    counts.set(key, (counts.get(key) ?? 0) + n);
  }

  /** Answers counted, all kinds together. */
  get answers(): number {
    let n = 0;
    for (const byPolicy of this.queries.values()) for (const counts of byPolicy.values()) for (const c of counts.values()) n += c;
    return n;
  }

  dump(): QueryMetricsDump {
    const queries: [string, string, number, number][] = [];
    for (const [zone, byPolicy] of this.queries) for (const [policy, counts] of byPolicy) for (const [k, n] of counts) queries.push([zone, policy, k, n]);
    const policyRegions: [string, string, number][] = [];
    for (const [zone, byRegion] of this.policyRegions) for (const [region, n] of byRegion) policyRegions.push([zone, region, n]);
    return { queries, policyRegions, latency: { counts: [...this.latency.counts], sum: this.latency.sum, count: this.latency.count } };
  }

  /** Adds another process's counters (or a dead worker's last ones) to these. */
  add(d: QueryMetricsDump): this {
    for (const [zone, policy, k, n] of d.queries) this.#count(zone, policy, k, n);
    for (const [zone, region, n] of d.policyRegions) {
      let byRegion = this.policyRegions.get(zone);
      if (!byRegion) this.policyRegions.set(zone, (byRegion = new Map()));
      byRegion.set(region, (byRegion.get(region) ?? 0) + n);
    }
    d.latency.counts.forEach((c, i) => {
      if (i < this.latency.counts.length) this.latency.counts[i]! += c;
    });
    this.latency.sum += d.latency.sum;
    this.latency.count += d.latency.count;
    return this;
  }

  /** A new set of counters holding the sum of `dumps`. */
  static sum(dumps: readonly QueryMetricsDump[]): QueryMetrics {
    const out = new QueryMetrics();
    for (const d of dumps) out.add(d);
    return out;
  }
}
