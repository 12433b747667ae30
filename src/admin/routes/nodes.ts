/**
 * @module admin/routes/nodes
 *   GET /v1/nodes   every node and checker of the cluster: id, kind, region, addresses, version,
 *                   the configuration revision it serves, whether it is its region's active
 *                   checker, and when it was last seen (cluster/membership.ts). `lag` is how many
 *                   revisions it is behind the most current member. A single node lists itself.
 */
import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/swagger';
import type { MemberRecord } from '../../cluster/membership.js';
import { NodeList, ok } from '../api-schemas.js';

/** What the admin API knows of the cluster (absent on a single node). */
export interface ClusterView {
  /** etcd answers. */
  reachable(): boolean;
  /** The first load from etcd is done. */
  loaded(): boolean;
  members(): MemberRecord[];
  self(): MemberRecord;
  /** The active checker of each region. */
  checkers(): ReadonlyMap<string, { id: string; since: string }>;
}

export interface NodeView extends MemberRecord {
  last_seen_ms_ago: number;
  lag: number;
  self: boolean;
}

/** Members with their age and lag; this node's own record is always its live one. */
export function nodeViews(cluster: ClusterView | null, single: () => MemberRecord, now = Date.now()): NodeView[] {
  const me = cluster ? cluster.self() : single();
  const others = cluster ? cluster.members().filter((m) => m.id !== me.id) : [];
  const all = [me, ...others];
  const newest = Math.max(...all.map((m) => m.revision));
  return all
    .map((m) => ({ ...m, last_seen_ms_ago: Math.max(0, now - Date.parse(m.seen_at)), lag: newest - m.revision, self: m.id === me.id }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

export function registerNodeRoutes(app: FastifyInstance, opts: { cluster: ClusterView | null; single: () => MemberRecord }): void {
  app.get(
    '/v1/nodes',
    {
      schema: {
        operationId: 'listNodes',
        tags: ['cluster'],
        summary: 'Every node and checker of the cluster, with last-seen time and revision',
        response: { 200: ok(NodeList, 'The members') },
      },
    },
    async () => ({
      mode: opts.cluster ? 'cluster' : 'single',
      etcd: opts.cluster ? (opts.cluster.reachable() ? 'reachable' : 'unreachable') : null,
      active_checkers: opts.cluster ? Object.fromEntries(opts.cluster.checkers()) : {},
      nodes: nodeViews(opts.cluster, opts.single),
    }),
  );
}
