/**
 * @module cluster/overrides
 * Operator overrides in cluster mode: stored in etcd under `<prefix>/overrides/<id>` (JSON, the
 * same record as the state directory's overrides.json) so a drain set on any node holds on every
 * node. An override that expires is written under a lease that ends a second after it, so etcd
 * removes the key by itself; every node also stops applying it at its expiry time.
 *
 * Every node applies what it reads from the watch to its HealthState; the node that makes a change
 * applies it at once as well, so its own answers change before the API call returns.
 */
import { createErrorCausedBy } from '../errors.js';
import type { HealthState, Override } from '../policy/health-view.js';
import type { EtcdClient, KeyValue, WatchEvent } from './etcd-client.js';
import type { KeyLayout } from './layout.js';
import type { EtcdSource, Subscriber } from './etcd-source.js';
import type { Logger } from '../log.js';

type Target = { endpoint: string } | { region: string };

/** How an override change is stored: in the state directory, or in etcd. */
export interface OverrideBackend {
  /** Sets (or, with null, lifts) an override; rejects with a 503 error if it cannot be stored. */
  set(target: Target, override: Override | null): Promise<void>;
}

export function overrideId(target: Target): string {
  return 'endpoint' in target ? `endpoint:${target.endpoint}` : `region:${target.region}`;
}

export function overrideTarget(id: string): Target | null {
  if (id.startsWith('endpoint:')) return { endpoint: id.slice(9) };
  if (id.startsWith('region:')) return { region: id.slice(7) };
  return null;
}

export class EtcdOverrides implements OverrideBackend, Subscriber {
  constructor(
    private readonly client: EtcdClient,
    private readonly layout: KeyLayout,
    private readonly health: HealthState,
    private readonly source: EtcdSource,
    private readonly log: Logger,
  ) {}

  #parse(kv: { key: string; value: string }): { target: Target; override: Override } | null {
    const target = overrideTarget(kv.key.slice(this.layout.overrides.length));
    try {
      const o = JSON.parse(kv.value) as Override & { id?: string };
      if (!target || !['drain', 'force_up', 'force_down'].includes(o.kind)) throw new Error('not an override');
      const { id: _id, ...override } = o;
      return { target, override };
    } catch (err) {
      this.log.error({ key: kv.key, err: (err as Error).message }, 'ignoring an override key that is not an override');
      return null;
    }
  }

  reset(kvs: readonly KeyValue[]): void {
    const keep = new Set<string>();
    for (const kv of kvs) {
      const p = this.#parse(kv);
      if (!p) continue;
      keep.add(overrideId(p.target));
      this.health.setOverride(p.target, p.override);
    }
    const { endpoints, regions } = this.health.overrides();
    for (const key of [...endpoints.keys()]) if (!keep.has(`endpoint:${key}`)) this.health.setOverride({ endpoint: key }, null);
    for (const key of [...regions.keys()]) if (!keep.has(`region:${key}`)) this.health.setOverride({ region: key }, null);
  }

  event(ev: WatchEvent): void {
    if (ev.type === 'delete') {
      const target = overrideTarget(ev.key.slice(this.layout.overrides.length));
      if (target) this.health.setOverride(target, null);
      return;
    }
    const p = this.#parse(ev);
    if (p) this.health.setOverride(p.target, p.override);
  }

  async set(target: Target, override: Override | null): Promise<void> {
    const key = this.layout.override(overrideId(target));
    let revision: number;
    try {
      if (override === null) {
        revision = await this.client.delete(key);
      } else {
        const lease = override.expiresAt !== undefined ? await this.client.grant(Math.ceil((override.expiresAt - Date.now()) / 1000) + 1) : undefined;
        revision = await this.client.put(key, JSON.stringify({ id: overrideId(target), ...override }), lease ? { lease } : {});
      }
    } catch (err) {
      throw createErrorCausedBy(err, 'MRD_ERR_API_UNAVAILABLE', `cannot store the override in etcd: ${(err as Error).message}; nothing was changed`);
    }
    this.health.setOverride(target, override);
    this.source.noteRevision(revision);
  }
}
