/**
 * @module admin/metrics
 * `GET /metrics` in the Prometheus text format (version 0.0.4):
 *   meridian_dns_queries_total{rcode,qtype,zone,policy}   answers given (every DNS worker's added up)
 *   meridian_dns_answer_duration_seconds                  time from packet to answer (histogram)
 *   meridian_dns_udp_io{io}                               1 for the UDP path in use: dgram or batched
 *   meridian_dns_udp_receive_buffer_bytes{worker}         SO_RCVBUF granted (as Linux reports it: doubled)
 *   meridian_dns_udp_dropped_total{worker,reason}         batched path: datagrams the kernel dropped
 *                                                         (receive_buffer) and answers dropped (send_queue)
 *   meridian_dns_workers{state}                           DNS worker processes configured and serving
 *   meridian_dns_worker_up{worker}, _restarts_total{worker}, _answers_total{worker},
 *   _cpu_seconds_total{worker}, _resident_memory_bytes{worker}   per worker (--workers N)
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
 * The query path only bumps a number in a Map and a bucket in an array (admin/query-metrics.ts);
 * everything is turned into text at scrape time. With DNS workers (node/workers.ts) each keeps
 * its own counters, and a scrape asks them for theirs and adds them up: the node reports as a
 * whole, with a `worker` label only where the worker is the point.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/swagger';
import { typeToName } from '../proto/types.js';
import { keyToPresentation } from '../proto/name.js';
import type { UdpInfo, UdpIo } from '../dns/server.js';
import { signerFor, type SnapshotHolder } from '../state/snapshot.js';
import { signatureCounters } from '../dnssec/signer.js';
import type { CookieJar } from '../dns/cookies.js';
import type { ResponseRateLimiter } from '../dns/rrl.js';
import type { TcpStats } from '../dns/tcp.js';
import type { Vote } from '../health/votes.js';
import { regionStatuses } from './health-routes.js';
import { uniqueEndpointsOf } from '../health/endpoints.js';
import { ENDPOINT_STATUSES, REGION_STATUSES } from '../health/status.js';
import { MERIDIAN_VERSION } from '../cluster/runtime.js';
import { text } from './api-schemas.js';
import { Histogram, QueryMetrics, type QueryMetricsDump } from './query-metrics.js';

const RCODES: Record<number, string> = {
  ...['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'],
  16: 'BADVERS',
  23: 'BADCOOKIE',
};

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** One DNS worker as `/metrics` reports it (node/workers.ts makes these). */
export interface WorkerReport {
  /** 1 to N: the slot, which keeps its number when its process is replaced. */
  readonly worker: number;
  /** Serving now. */
  readonly up: boolean;
  /** Times this slot's process died and was replaced. */
  readonly restarts: number;
  /** What the slot answered, the processes it replaced included (up to their last report). */
  readonly queries: QueryMetricsDump;
  /** CPU time of the current process (user + system). */
  readonly cpuSeconds: number;
  readonly residentBytes: number;
  readonly udp: UdpInfo | null;
  /** RRSIGs the slot's processes put into answers (dnssec/signer.ts `signatureCounters`), replaced ones included. */
  readonly signatures?: { readonly made: number; readonly cached: number };
}

/** The node's DNS processes: its own server, or its workers. */
export interface DnsReport {
  readonly udpIo: UdpIo;
  /** Worker processes configured; 0 when the node answers DNS in its own process. */
  readonly configured: number;
  readonly workers: readonly WorkerReport[];
  /** The UDP side of the node's own server, when it answers DNS itself. */
  readonly local: UdpInfo | null;
}

/** The lines about the DNS processes: UDP path, buffers and drops, workers. */
function dnsLines(dns: DnsReport): string[] {
  const out: string[] = [];
  const udp: { label: string; info: UdpInfo }[] = dns.local
    ? [{ label: '', info: dns.local }]
    : dns.workers.flatMap((w) => (w.udp ? [{ label: `worker="${w.worker}"`, info: w.udp }] : []));
  out.push('# HELP meridian_dns_udp_io 1 for the UDP path in use: dgram (node:dgram) or batched (recvmmsg/sendmmsg).');
  out.push('# TYPE meridian_dns_udp_io gauge');
  for (const io of ['dgram', 'batched']) out.push(`meridian_dns_udp_io{io="${io}"} ${io === dns.udpIo ? 1 : 0}`);
  out.push('# HELP meridian_dns_udp_receive_buffer_bytes SO_RCVBUF of the UDP socket as the kernel reports it (Linux doubles what it grants).');
  out.push('# TYPE meridian_dns_udp_receive_buffer_bytes gauge');
  for (const u of udp) out.push(`meridian_dns_udp_receive_buffer_bytes${u.label ? `{${u.label}}` : ''} ${u.info.recvBufferBytes}`);
  out.push(
    '# HELP meridian_dns_udp_dropped_total Batched UDP path: queries the kernel dropped for a full receive buffer (receive_buffer), answers dropped for a full send queue (send_queue).',
  );
  out.push('# TYPE meridian_dns_udp_dropped_total counter');
  for (const u of udp) {
    if (!u.info.stats) continue;
    const sep = u.label ? `${u.label},` : '';
    out.push(`meridian_dns_udp_dropped_total{${sep}reason="receive_buffer"} ${u.info.stats.receiveDropped}`);
    out.push(`meridian_dns_udp_dropped_total{${sep}reason="send_queue"} ${u.info.stats.sendDropped}`);
  }
  out.push('# HELP meridian_dns_workers DNS worker processes configured, and serving now (configured 0: the node answers DNS in its own process).');
  out.push('# TYPE meridian_dns_workers gauge');
  out.push(`meridian_dns_workers{state="configured"} ${dns.configured}`);
  out.push(`meridian_dns_workers{state="serving"} ${dns.configured === 0 ? 0 : dns.workers.filter((w) => w.up).length}`);
  if (dns.workers.length === 0) return out;
  const each = (name: string, type: string, help: string, value: (w: WorkerReport) => number): void => {
    out.push(`# HELP ${name} ${help}`);
    out.push(`# TYPE ${name} ${type}`);
    for (const w of dns.workers) out.push(`${name}{worker="${w.worker}"} ${value(w)}`);
  };
  each('meridian_dns_worker_up', 'gauge', '1 while the DNS worker serves.', (w) => (w.up ? 1 : 0));
  each('meridian_dns_worker_restarts_total', 'counter', 'Times the DNS worker died and was replaced.', (w) => w.restarts);
  each('meridian_dns_worker_answers_total', 'counter', 'DNS answers the worker gave (its replaced processes included).', (w) =>
    w.queries.queries.reduce((n, e) => n + e[3], 0),
  );
  each('meridian_dns_worker_cpu_seconds_total', 'counter', "CPU time of the worker's current process.", (w) => w.cpuSeconds);
  each('meridian_dns_worker_resident_memory_bytes', 'gauge', "Resident memory of the worker's current process.", (w) => w.residentBytes);
  return out;
}

export class MetricsRegistry {
  readonly #own = new QueryMetrics();
  readonly #votes = new Map<string, number>();
  readonly #checkDurations = new Map<string, Histogram>();
  readonly #loads = { ok: 0, failed: 0 };
  readonly #process = new Registry();

  constructor(private readonly holder: SnapshotHolder) {
    collectDefaultMetrics({ register: this.#process });
  }

  /** For dns/pipeline.ts: one answered query (in this process). */
  readonly observeQuery = this.#own.observeQuery;

  /** For the transports: seconds from a message's arrival to its answer. */
  readonly observeLatency = this.#own.observeLatency;

  /** The node's DNS processes, asked at each scrape (node/node.ts sets it). */
  dns: (() => Promise<DnsReport>) | null = null;

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
    const dns = this.dns ? await this.dns() : null;
    const q = dns && dns.workers.length > 0 ? QueryMetrics.sum([this.#own.dump(), ...dns.workers.map((w) => w.queries)]) : this.#own;
    out.push('# HELP meridian_dns_queries_total DNS answers given, by rcode, query type, zone and policy kind (empty for static answers).');
    out.push('# TYPE meridian_dns_queries_total counter');
    for (const [zone, byPolicy] of q.queries) {
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
    out.push(...q.latency.lines('meridian_dns_answer_duration_seconds'));
    if (dns) out.push(...dnsLines(dns));
    out.push(
      '# HELP meridian_policy_answers_total Policy answers by zone and by the region of the endpoints answered (an answer holding endpoints in two regions counts for both).',
    );
    out.push('# TYPE meridian_policy_answers_total counter');
    for (const [zone, byRegion] of q.policyRegions) {
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
    let signed = 0;
    for (const z of snap.catalog.zones) if (signerFor(snap, z)) signed++;
    out.push('# HELP meridian_dnssec_zones_signed Zones whose answers to DO=1 queries are signed (docs/dnssec.md).');
    out.push('# TYPE meridian_dnssec_zones_signed gauge');
    out.push(`meridian_dnssec_zones_signed ${signed}`);
    out.push(
      '# HELP meridian_dnssec_signatures_total RRSIGs put into answers: made by signing now (made), or taken from the signature or answer cache (cached).',
    );
    out.push('# TYPE meridian_dnssec_signatures_total counter');
    // DNS workers sign in their own processes: their counts add to this one's.
    const sigs = (k: 'made' | 'cached'): number => signatureCounters[k] + (dns?.workers ?? []).reduce((n, w) => n + (w.signatures?.[k] ?? 0), 0);
    out.push(`meridian_dnssec_signatures_total{source="made"} ${sigs('made')}`);
    out.push(`meridian_dnssec_signatures_total{source="cached"} ${sigs('cached')}`);
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
