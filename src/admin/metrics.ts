/**
 * @module admin/metrics
 * `GET /metrics` in the Prometheus text format (version 0.0.4):
 *   meridian_dns_queries_total{rcode,qtype,zone,policy}   answers given
 *   meridian_dns_answer_duration_seconds                  time from packet to answer (histogram)
 *   meridian_policy_answers_total{zone,region}            policy answers holding an endpoint in the region
 *   meridian_health_votes_total{checker,result}           check results by checker region
 *   meridian_health_check_duration_seconds{checker}       check RTTs (histogram)
 *   meridian_endpoint_health{endpoint,region,state}       1 for the endpoint's current view
 *   meridian_region_status{region,status}                 1 for the region's derived status
 *                                                         (health/status.ts; unchecked is never healthy)
 *   meridian_region_endpoints{region,status}              endpoints per endpoint status
 *   meridian_region_usable_endpoints{region}              endpoints DNS answers now (weight > 0)
 *   meridian_zone_loads_total{result}                     zone file loads and failed loads
 *   meridian_zones, meridian_snapshot_version
 *   meridian_build_info{version,node,platform,arch}       always 1: which build runs on which Node
 *   meridian_dns_rrl_limited_total{class,action}          UDP answers response rate limiting dropped or slipped
 *   meridian_dns_rrl_exempt_total                         answers never limited (exempt source)
 *   meridian_dns_rrl_buckets                              buckets in its table
 *   meridian_dns_cookies_total{verdict}                   queries with a COOKIE option, by verdict
 *   meridian_dns_badcookie_total                          BADCOOKIE answers (sent in place of limited ones)
 *   meridian_dns_tcp_connections                          TCP connections open
 *   meridian_dns_tcp_refused_total{reason}                TCP connections refused (per_client, limit)
 *   meridian_etcd_up, meridian_etcd_unreachable_total,
 *   meridian_config_revision                              cluster mode only
 * plus prom-client's default process metrics (CPU, memory, event loop lag, GC) under their
 * standard names (process_*, nodejs_*), so stock Node.js dashboards and alerts work unchanged.
 *
 * The query path only bumps a number in a Map and a bucket in an array (about 20 ns);
 * prom-client's labelled counters cost about 500 ns a call, too much at 100k queries a second.
 * Everything is turned into text at scrape time.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/swagger';
import { typeToName } from '../proto/types.js';
import { keyToPresentation } from '../proto/name.js';
import type { Query } from '../proto/wire.js';
import type { CookieJar } from '../dns/cookies.js';
import type { ResponseRateLimiter } from '../dns/rrl.js';
import type { TcpStats } from '../dns/tcp.js';
import type { Endpoint } from '../policy/types.js';
import type { SnapshotHolder } from '../state/snapshot.js';
import type { Vote } from '../health/votes.js';
import { regionStatuses } from './health-routes.js';
import { uniqueEndpointsOf } from '../health/endpoints.js';
import { ENDPOINT_STATUSES, REGION_STATUSES } from '../health/status.js';
import { MERIDIAN_VERSION } from '../cluster/runtime.js';
import { text } from './api-schemas.js';

const RCODES: Record<number, string> = {
  ...['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'],
  16: 'BADVERS',
  23: 'BADCOOKIE',
};

class Histogram {
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

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class MetricsRegistry {
  /** zone → policy kind → (rcode << 16 | qtype) → count. Keys are strings the query path already holds, so no string is built per query. */
  readonly #queries = new Map<string, Map<string, Map<number, number>>>();
  /** zone → endpoint region → policy answers that held an endpoint in that region. */
  readonly #policyRegions = new Map<string, Map<string, number>>();
  readonly #latency = new Histogram([0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05]);
  readonly #votes = new Map<string, number>();
  readonly #checkDurations = new Map<string, Histogram>();
  readonly #loads = { ok: 0, failed: 0 };
  readonly #process = new Registry();

  constructor(private readonly holder: SnapshotHolder) {
    collectDefaultMetrics({ register: this.#process });
  }

  /** For dns/pipeline.ts: one answered query. */
  readonly observeQuery = (query: Query, rcode: number, zone: string | null, policy: string | null = null, endpoints?: readonly Endpoint[]): void => {
    const z = zone ?? '';
    let byPolicy = this.#queries.get(z);
    if (!byPolicy) this.#queries.set(z, (byPolicy = new Map()));
    const p = policy ?? '';
    let counts = byPolicy.get(p);
    if (!counts) byPolicy.set(p, (counts = new Map()));
    const k = (rcode << 16) | query.qtype;
    counts.set(k, (counts.get(k) ?? 0) + 1);
    if (endpoints && endpoints.length > 0) {
      let byRegion = this.#policyRegions.get(z);
      if (!byRegion) this.#policyRegions.set(z, (byRegion = new Map()));
      // Each region once per answer; answers hold a handful of endpoints, so a scan back is cheaper than a Set.
      outer: for (let i = 0; i < endpoints.length; i++) {
        const region = endpoints[i]!.region;
        for (let j = 0; j < i; j++) if (endpoints[j]!.region === region) continue outer;
        byRegion.set(region, (byRegion.get(region) ?? 0) + 1);
      }
    }
  };

  /** For the transports: seconds from a message's arrival to its answer. */
  readonly observeLatency = (seconds: number): void => this.#latency.observe(seconds);

  /** The DNS server's defences (node/node.ts): cookies, response rate limiting, TCP connections. */
  guard: { readonly cookies: CookieJar; readonly rrl: ResponseRateLimiter | null; readonly tcp: TcpStats } | null = null;

  /** Cluster mode: etcd reachability and the configuration revision. */
  cluster: { readonly client: { readonly reachable: boolean }; readonly unreachableCount: number; readonly source: { revision(): number } } | null = null;

  /** For the vote store: every vote taken. */
  readonly observeVote = (v: Vote): void => {
    const key = `${v.checker}|${v.up ? 'up' : 'down'}`;
    this.#votes.set(key, (this.#votes.get(key) ?? 0) + 1);
    let h = this.#checkDurations.get(v.checker);
    if (!h) this.#checkDurations.set(v.checker, (h = new Histogram([0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5])));
    h.observe(v.rttMs / 1000);
  };

  /** For the zone source: a file loaded or refused. */
  readonly observeLoad = (ok: boolean): void => {
    if (ok) this.#loads.ok++;
    else this.#loads.failed++;
  };

  async text(): Promise<string> {
    const out: string[] = [];
    out.push('# HELP meridian_dns_queries_total DNS answers given, by rcode, query type, zone and policy kind (empty for static answers).');
    out.push('# TYPE meridian_dns_queries_total counter');
    for (const [zone, byPolicy] of this.#queries) {
      for (const [policy, counts] of byPolicy) {
        for (const [k, n] of counts) {
          const rcode = k >>> 16;
          const r = RCODES[rcode] ?? `RCODE${rcode}`;
          out.push(
            `meridian_dns_queries_total{rcode="${r}",qtype="${typeToName(k & 0xffff)}",zone="${esc(zone ? keyToPresentation(zone) : '')}",policy="${policy}"} ${n}`,
          );
        }
      }
    }
    out.push('# HELP meridian_dns_answer_duration_seconds Time from a DNS message arriving to its answer being ready.');
    out.push('# TYPE meridian_dns_answer_duration_seconds histogram');
    out.push(...this.#latency.lines('meridian_dns_answer_duration_seconds'));
    out.push(
      '# HELP meridian_policy_answers_total Policy answers by zone and by the region of the endpoints answered (an answer holding endpoints in two regions counts for both).',
    );
    out.push('# TYPE meridian_policy_answers_total counter');
    for (const [zone, byRegion] of this.#policyRegions) {
      for (const [region, n] of byRegion) out.push(`meridian_policy_answers_total{zone="${esc(keyToPresentation(zone))}",region="${esc(region)}"} ${n}`);
    }
    out.push('# HELP meridian_health_votes_total Health check verdicts taken, by checker region and result.');
    out.push('# TYPE meridian_health_votes_total counter');
    for (const [key, n] of this.#votes) {
      const [checker, result] = key.split('|') as [string, string];
      out.push(`meridian_health_votes_total{checker="${esc(checker)}",result="${result}"} ${n}`);
    }
    out.push('# HELP meridian_health_check_duration_seconds Health check round-trip times, by checker region.');
    out.push('# TYPE meridian_health_check_duration_seconds histogram');
    for (const [checker, h] of this.#checkDurations) out.push(...h.lines('meridian_health_check_duration_seconds', `checker="${esc(checker)}"`));
    const snap = this.holder.current;
    out.push("# HELP meridian_endpoint_health 1 for each endpoint's current health view (up, down, unknown).");
    out.push('# TYPE meridian_endpoint_health gauge');
    for (const e of uniqueEndpointsOf(snap)) {
      const state = snap.health.health(e.key);
      for (const s of ['up', 'down', 'unknown'])
        out.push(`meridian_endpoint_health{endpoint="${esc(e.key)}",region="${esc(e.region)}",state="${s}"} ${s === state ? 1 : 0}`);
    }
    // An unchecked region is reported as unchecked, never as healthy (health/status.ts).
    out.push("# HELP meridian_region_status 1 for each region's derived status (healthy, degraded, down, drained, unchecked, empty; docs/health.md).");
    out.push('# TYPE meridian_region_status gauge');
    const regions = regionStatuses(this.holder);
    for (const r of regions) {
      for (const s of REGION_STATUSES) out.push(`meridian_region_status{region="${esc(r.id)}",status="${s}"} ${s === r.status ? 1 : 0}`);
    }
    out.push(
      '# HELP meridian_region_endpoints Endpoints of each region by endpoint status (up, down, unknown, unchecked, forced_up, forced_down, drained, weight_zero).',
    );
    out.push('# TYPE meridian_region_endpoints gauge');
    for (const r of regions) {
      for (const s of ENDPOINT_STATUSES) out.push(`meridian_region_endpoints{region="${esc(r.id)}",status="${s}"} ${r.endpoint_statuses[s] ?? 0}`);
    }
    out.push('# HELP meridian_region_usable_endpoints Endpoints of each region that DNS answers now (weight > 0 and usable).');
    out.push('# TYPE meridian_region_usable_endpoints gauge');
    for (const r of regions) out.push(`meridian_region_usable_endpoints{region="${esc(r.id)}"} ${r.endpoints.usable}`);
    out.push('# HELP meridian_zone_loads_total Zone file loads, and loads refused because the file was invalid.');
    out.push('# TYPE meridian_zone_loads_total counter');
    out.push(`meridian_zone_loads_total{result="ok"} ${this.#loads.ok}`);
    out.push(`meridian_zone_loads_total{result="failed"} ${this.#loads.failed}`);
    out.push('# HELP meridian_zones Zones served.');
    out.push('# TYPE meridian_zones gauge');
    out.push(`meridian_zones ${snap.catalog.size}`);
    out.push('# HELP meridian_snapshot_version Version of the snapshot being served (bumps on every zone change).');
    out.push('# TYPE meridian_snapshot_version gauge');
    out.push(`meridian_snapshot_version ${snap.version}`);
    out.push('# HELP meridian_build_info Always 1; the labels say which Meridian version runs on which Node.js.');
    out.push('# TYPE meridian_build_info gauge');
    out.push(`meridian_build_info{version="${esc(MERIDIAN_VERSION)}",node="${esc(process.version)}",platform="${process.platform}",arch="${process.arch}"} 1`);
    if (this.guard) out.push(...this.#guardLines(this.guard));
    if (this.cluster) {
      out.push('# HELP meridian_etcd_up 1 while etcd answers this node, 0 while it is unreachable (the node serves its last snapshot).');
      out.push('# TYPE meridian_etcd_up gauge');
      out.push(`meridian_etcd_up ${this.cluster.client.reachable ? 1 : 0}`);
      out.push('# HELP meridian_etcd_unreachable_total Times etcd became unreachable.');
      out.push('# TYPE meridian_etcd_unreachable_total counter');
      out.push(`meridian_etcd_unreachable_total ${this.cluster.unreachableCount}`);
      out.push('# HELP meridian_config_revision The etcd revision of the newest configuration change this node serves.');
      out.push('# TYPE meridian_config_revision gauge');
      out.push(`meridian_config_revision ${this.cluster.source.revision()}`);
    }
    return out.join('\n') + '\n' + (await this.#process.metrics());
  }

  #guardLines(g: NonNullable<MetricsRegistry['guard']>): string[] {
    const out: string[] = [];
    if (g.rrl) {
      out.push(
        '# HELP meridian_dns_rrl_limited_total UDP answers response rate limiting held back, by class and what was sent instead (dropped: nothing; slipped: TC=1 or BADCOOKIE).',
      );
      out.push('# TYPE meridian_dns_rrl_limited_total counter');
      for (const [cls, c] of Object.entries(g.rrl.counts)) {
        out.push(`meridian_dns_rrl_limited_total{class="${cls}",action="dropped"} ${c.dropped}`);
        out.push(`meridian_dns_rrl_limited_total{class="${cls}",action="slipped"} ${c.slipped}`);
      }
      out.push('# HELP meridian_dns_rrl_exempt_total UDP answers to exempt sources (--rrl-exempt), never limited.');
      out.push('# TYPE meridian_dns_rrl_exempt_total counter');
      out.push(`meridian_dns_rrl_exempt_total ${g.rrl.exemptAnswers}`);
      out.push('# HELP meridian_dns_rrl_buckets Buckets (client network and answer) response rate limiting remembers now.');
      out.push('# TYPE meridian_dns_rrl_buckets gauge');
      out.push(`meridian_dns_rrl_buckets ${g.rrl.buckets}`);
    }
    out.push('# HELP meridian_dns_cookies_total Queries with a DNS COOKIE option, by verdict (client_only, invalid, valid: RFC 7873 §5.2).');
    out.push('# TYPE meridian_dns_cookies_total counter');
    const c = g.cookies.counts;
    out.push(`meridian_dns_cookies_total{verdict="client_only"} ${c['client-only']}`);
    out.push(`meridian_dns_cookies_total{verdict="invalid"} ${c.invalid}`);
    out.push(`meridian_dns_cookies_total{verdict="valid"} ${c.valid}`);
    out.push('# HELP meridian_dns_badcookie_total BADCOOKIE answers, sent in place of rate-limited ones to clients that sent a cookie.');
    out.push('# TYPE meridian_dns_badcookie_total counter');
    out.push(`meridian_dns_badcookie_total ${c.badcookie}`);
    out.push('# HELP meridian_dns_tcp_connections DNS TCP connections open now.');
    out.push('# TYPE meridian_dns_tcp_connections gauge');
    out.push(`meridian_dns_tcp_connections ${g.tcp.open}`);
    out.push('# HELP meridian_dns_tcp_refused_total DNS TCP connections refused: the client held its share (per_client) or every slot was taken (limit).');
    out.push('# TYPE meridian_dns_tcp_refused_total counter');
    out.push(`meridian_dns_tcp_refused_total{reason="per_client"} ${g.tcp.refusedPerClient}`);
    out.push(`meridian_dns_tcp_refused_total{reason="limit"} ${g.tcp.refusedGlobal}`);
    return out;
  }

  register(app: FastifyInstance): void {
    app.get(
      '/metrics',
      {
        schema: {
          operationId: 'getMetrics',
          tags: ['probes'],
          summary: 'Prometheus metrics',
          security: [],
          response: { 200: text('Prometheus text exposition format 0.0.4', 'text/plain') },
        },
      },
      async (_req, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(await this.text()),
    );
  }
}
