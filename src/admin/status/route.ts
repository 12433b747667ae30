/**
 * @module admin/status/route
 * The status page at `GET /` (and `/status`): one static HTML file with its own script, no build
 * step and no dependencies. It reads the same read-only API a script would (docs/api.md),
 * polling every 2 s, with a read-only token the operator types in. Shown: a map of regions
 * coloured by status, each region's endpoints with health and votes, overrides and drills with
 * countdowns, recent health transitions, and a drill preview button.
 */
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/swagger';
import { text } from '../api-schemas.js';

const PAGE = new URL('./page.html', import.meta.url);

export function registerStatusPage(app: FastifyInstance): void {
  // Read once; the page is part of the build (copied next to this module).
  const html = fs.readFileSync(PAGE, 'utf8');
  for (const url of ['/', '/status']) {
    app.get(
      url,
      {
        schema: {
          operationId: url === '/' ? 'getStatusPage' : 'getStatusPageAlias',
          tags: ['status'],
          summary: url === '/' ? 'The status page (HTML)' : 'The status page (HTML), at /status too',
          security: [],
          response: { 200: text('The page; it calls the API with the token the operator types in', 'text/html') },
        },
      },
      async (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html),
    );
  }
}
