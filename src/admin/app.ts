/**
 * @module admin/app
 * Builds the admin HTTP app (fastify). No listen() here, so tests can `inject`. For now it serves
 * the probes a load balancer expects — `/livez` (the process is alive) and `/readyz` (zones are
 * loaded) — and a read-only list of zones; the admin API issue builds the full API on this.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { keyToPresentation } from '../dns/name.js';
import type { SnapshotHolder } from '../state/snapshot.js';
import type { Source } from '../state/source.js';

export interface AdminAppOptions {
  readonly holder: SnapshotHolder;
  readonly source: Source;
  readonly log: Logger;
  /** True once the source's first load has finished. */
  readonly started: () => boolean;
}

export function buildAdminApp(opts: AdminAppOptions): FastifyInstance {
  // No per-request info lines (a probe every few seconds would drown the log); errors still log.
  const app = Fastify({ loggerInstance: opts.log as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), bodyLimit: 1 << 20 });

  app.get('/livez', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const zones = opts.holder.current.catalog.size;
    if (!opts.started()) return reply.code(503).send({ status: 'not ready', reason: 'zones are still loading' });
    if (zones === 0) return reply.code(503).send({ status: 'not ready', reason: 'no zone loaded' });
    return { status: 'ready', zones };
  });

  app.get('/v1/zones', async () => {
    const snap = opts.holder.current;
    const files = opts.source.status();
    return {
      snapshot: snap.version,
      zones: [...snap.catalog.zones].map((z) => ({
        name: keyToPresentation(z.origin),
        serial: z.serial,
        records: z.recordCount,
        file: z.file,
        transfer_allow: z.transferAllow,
      })),
      files: files.map((f) => ({
        file: f.name,
        zone: f.origin === null ? null : keyToPresentation(f.origin),
        serial: f.serial,
        loaded_at: f.loadedAt?.toISOString() ?? null,
        errors: f.errors.map((e) => ({ code: e.code, line: e.line, message: e.message, record: e.record ?? null })),
      })),
    };
  });

  return app;
}
