/**
 * @module cluster/runtime
 * Everything a process needs to take part in a cluster, wired together: the etcd client, the
 * zone source, overrides, the latency table, votes in and out, the region's checker election and
 * the membership heartbeat. `meridian serve --etcd` and `meridian checker --etcd` both build one.
 *
 * Which checks run where:
 *   - while etcd is reachable, a process checks only if it is its region's active checker, and its
 *     votes go to etcd (and, on a node, straight into its own vote store as well);
 *   - while etcd is unreachable, a serving node checks from its own region regardless, and keeps
 *     the votes to itself: it goes on answering from its last snapshot and its own region's view.
 *     Other regions' votes age out by their `stale_after`. When etcd returns, the election decides
 *     again and the votes in etcd take over.
 */
import fs from 'node:fs';
import os from 'node:os';
import { EtcdClient, type EtcdConnection } from './etcd-client.js';
import { EtcdSource } from './etcd-source.js';
import { KeyLayout } from './layout.js';
import { EtcdOverrides } from './overrides.js';
import { EtcdLatency } from './latency.js';
import { EtcdKeyStore } from './dnssec-store.js';
import { EtcdVoteFeed, EtcdVotePublisher } from './votes.js';
import { RegionElection } from './election.js';
import { Membership, type MemberRecord } from './membership.js';
import { EtcdAudit } from './audit.js';
import { EtcdCookieSecrets } from './cookie-secrets.js';
import type { CookieSecrets } from '../dns/cookie-secrets.js';
import type { AuditLog } from '../state/audit.js';
import { endpointsOf } from '../health/endpoints.js';
import type { HealthService } from '../health/service.js';
import type { Vote } from '../health/votes.js';
import type { SnapshotHolder } from '../state/snapshot.js';
import type { Logger } from '../log.js';

/** The version in package.json (two levels up from both src/cluster and dist/cluster). */
export const MERIDIAN_VERSION: string = (() => {
  try {
    return (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

export interface ClusterOptions {
  readonly etcd: EtcdConnection;
  readonly region: string;
  /** This process's id in the cluster (default: host name and admin port, or pid). */
  readonly id?: string | undefined;
  readonly kind: 'node' | 'checker';
  /** TTL of the election and membership leases, in seconds (default 5). */
  readonly leaseTtlSeconds?: number;
  /** Whether this process can check (false: `serve --no-checks`). */
  readonly checks: boolean;
}

export class Cluster {
  readonly client: EtcdClient;
  readonly layout: KeyLayout;
  readonly source: EtcdSource;
  readonly overrides: EtcdOverrides;
  /** DNSSEC key records in etcd (every node signs with the same keys). */
  readonly dnssecStore: EtcdKeyStore;
  readonly membership: Membership;
  readonly election: RegionElection | null;
  readonly id: string;
  #publisher: EtcdVotePublisher | null = null;
  /** A node's DNS cookie secrets, shared through etcd (attachCookies). */
  cookies: EtcdCookieSecrets | null = null;
  #health: HealthService | null = null;
  readonly #startedAt = new Date().toISOString();
  #addresses: { dns: string | null; admin: string | null } = { dns: null, admin: null };
  /** Times etcd became unreachable (metrics). */
  unreachableCount = 0;

  constructor(
    readonly opts: ClusterOptions,
    private readonly holder: SnapshotHolder,
    private readonly log: Logger,
  ) {
    const clog = log.child({ component: 'cluster' });
    this.id = opts.id ?? `${os.hostname()}-${process.pid}`;
    this.client = new EtcdClient({ ...opts.etcd, log: clog });
    this.client.onReachability((up) => {
      if (!up) this.unreachableCount++;
      this.#gate();
    });
    this.layout = new KeyLayout(opts.etcd.prefix);
    this.source = new EtcdSource({ client: this.client, layout: this.layout, holder, log: log.child({ component: 'zones' }) });
    this.overrides = new EtcdOverrides(this.client, this.layout, holder.health, this.source, clog);
    this.source.subscribe(this.layout.overrides, this.overrides);
    this.source.subscribe(this.layout.latency, new EtcdLatency(this.layout.latency, holder.live, clog));
    this.dnssecStore = new EtcdKeyStore(this.client, this.layout, clog);
    this.source.subscribe(this.layout.dnssec, this.dnssecStore);
    const ttl = opts.leaseTtlSeconds ?? 5;
    this.election = opts.checks
      ? new RegionElection({
          client: this.client,
          layout: this.layout,
          region: opts.region,
          id: this.id,
          ttlSeconds: ttl,
          log: clog,
          onChange: () => this.#gate(),
        })
      : null;
    if (this.election) this.source.subscribe(this.layout.checkers, this.election);
    this.membership = new Membership({ client: this.client, layout: this.layout, ttlSeconds: ttl, log: clog, self: () => this.self() });
    this.source.subscribe(this.layout.nodes, this.membership);
  }

  /** This process's membership record. */
  self(): MemberRecord {
    return {
      id: this.id,
      kind: this.opts.kind,
      region: this.opts.region,
      dns: this.#addresses.dns,
      admin: this.#addresses.admin,
      version: MERIDIAN_VERSION,
      revision: this.source.revision(),
      active_checker: this.#health?.active ?? false,
      started_at: this.#startedAt,
      seen_at: new Date().toISOString(),
    };
  }

  setAddresses(dns: string | null, admin: string | null): void {
    this.#addresses = { dns, admin };
  }

  /**
   * Where this process's checker sends its votes: to etcd while it is the active checker, and
   * into the local store (a serving node) in any case.
   */
  publishFor(local: ((votes: Vote[]) => void) | null): (votes: Vote[]) => void {
    const staleAfter = new Map<string, number>();
    const refresh = (): void => {
      staleAfter.clear();
      for (const e of endpointsOf(this.holder.current)) if (e.check) staleAfter.set(e.key, e.check.staleAfterMs);
    };
    refresh();
    this.holder.onSwap(refresh);
    this.#publisher = new EtcdVotePublisher(this.client, this.layout, this.id, (k) => staleAfter.get(k), this.log.child({ component: 'votes' }));
    return (votes) => {
      local?.(votes.map((v) => ({ ...v, by: this.id })));
      if (this.election?.leader && this.client.reachable) this.#publisher!.publish(votes);
    };
  }

  /** Keeps the audit log cluster-wide: entries go to etcd, and every node's entries come back. */
  attachAudit(audit: AuditLog): void {
    this.source.subscribe(this.layout.audit, new EtcdAudit(this.client, this.layout.audit, this.id, audit, this.log.child({ component: 'audit' })));
  }

  /** Keeps a node's DNS cookie secrets equal to the cluster's (call before start). */
  attachCookies(secrets: CookieSecrets): void {
    this.cookies = new EtcdCookieSecrets(this.client, this.layout.cookieSecret, secrets, this.log.child({ component: 'cookies' }));
    this.source.subscribe(this.layout.cookieSecret, this.cookies);
  }

  /** Hooks a health service in: its checker follows the election, its store the votes in etcd. */
  attach(health: HealthService): void {
    this.#health = health;
    if (health.store) this.source.subscribe(this.layout.votes, new EtcdVoteFeed(this.layout, health.store, this.log.child({ component: 'health' })));
    this.#gate();
  }

  /** Runs the checker when this process is the region's active checker, or (a node) when etcd is away. */
  #gate(): void {
    const h = this.#health;
    if (!h) return;
    const leader = this.election?.leader ?? false;
    const fallback = this.opts.kind === 'node' && !this.client.reachable;
    h.setActive(leader || fallback);
  }

  async start(): Promise<void> {
    await this.source.start();
    this.cookies?.start();
    this.membership.start();
    this.election?.start();
  }

  async stop(): Promise<void> {
    this.cookies?.stop();
    await this.election?.stop();
    await this.#publisher?.close(false);
    await this.membership.stop();
    await this.source.stop();
    await this.client.close();
  }
}
