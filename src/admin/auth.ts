/**
 * @module admin/auth
 * Bearer tokens for the admin API. A token has a name (who, in the audit log), a role (`read`
 * or `write`) and a secret. Tokens come from a file (`--tokens FILE`: YAML or JSON list of
 * `{ name, role, token }`) or the environment (`MERIDIAN_TOKENS="name:role:secret,..."`).
 * Secrets are never logged, and they are compared in constant time (both sides hashed first, so
 * lengths leak nothing either).
 *
 * A write (any method but GET and HEAD) without a valid write token is refused, always: 401 with
 * no token or a wrong one, 403 with a read token. With no token configured, the node makes one
 * write token of its own (admin/local-token.ts: a file of mode 0600 that `meridian ctl` on the
 * same machine reads), reads stay open, and `meridian serve` refuses to listen anywhere but
 * loopback (node/node.ts). `/livez`, `/readyz` and `/metrics` stay open unless
 * `--protect-probes` is given. Failed authentications are rate-limited per client address:
 * after 10 in a minute, the address gets 429 until the minute is over.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { refuse } from './problem.js';

export type Role = 'read' | 'write';

export interface Token {
  readonly name: string;
  readonly role: Role;
  readonly digest: Buffer;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking: the token's name, or `anonymous` for an open read. */
    who: string;
    role: Role;
  }
}

/** A token from its name, role and secret (the node's own write token, admin/local-token.ts). */
export function tokenOf(name: string, role: Role, secret: string): Token {
  return make(name, role, secret, name);
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

function make(name: unknown, role: unknown, secret: unknown, where: string): Token {
  if (typeof name !== 'string' || !name) throw new Error(`${where}: a token needs a name`);
  if (role !== 'read' && role !== 'write') throw new Error(`${where}: role must be "read" or "write"`);
  if (typeof secret !== 'string' || secret.length < 16) throw new Error(`${where}: the token of "${name}" must be at least 16 characters`);
  return { name, role, digest: digest(secret) };
}

/** Reads tokens from a file and/or an environment value; throws with a clear reason. */
export function loadTokens(file: string | undefined, env: string | undefined): Token[] {
  const tokens: Token[] = [];
  if (file) {
    const data = parseYaml(fs.readFileSync(file, 'utf8')) as unknown;
    const list = Array.isArray(data) ? data : (data as { tokens?: unknown[] } | null)?.tokens;
    if (!Array.isArray(list)) throw new Error(`${file}: expected a list of { name, role, token }`);
    list.forEach((t, i) => {
      const o = (t ?? {}) as Record<string, unknown>;
      tokens.push(make(o['name'], o['role'], o['token'], `${file}[${i}]`));
    });
  }
  if (env) {
    env
      .split(',')
      .filter(Boolean)
      .forEach((entry, i) => {
        const [name, role, ...rest] = entry.split(':');
        tokens.push(make(name, role, rest.join(':'), `MERIDIAN_TOKENS entry ${i + 1}`));
      });
  }
  const names = new Set<string>();
  for (const t of tokens) {
    if (names.has(t.name)) throw new Error(`token name "${t.name}" is used twice`);
    names.add(t.name);
  }
  return tokens;
}

/** The token with this secret, compared in constant time against every token. */
function find(tokens: readonly Token[], secret: string): Token | undefined {
  const d = digest(secret);
  let found: Token | undefined;
  for (const t of tokens) if (timingSafeEqual(t.digest, d)) found = t;
  return found;
}

export const OPEN_PATHS: ReadonlySet<string> = new Set(['/livez', '/readyz', '/metrics']);
/** The status page's HTML holds no data (it calls the API with the operator's token). */
export const PAGE_PATHS: ReadonlySet<string> = new Set(['/', '/status']);
const WINDOW_MS = 60_000;
const MAX_FAILURES = 10;

export interface AuthOptions {
  /** The tokens in force (a reload replaces the array's contents): the configured ones and the node's own write token. */
  readonly tokens: readonly Token[];
  /** True while reads need no token: no token is configured (the API then listens on loopback only). */
  readonly openReads?: () => boolean;
  readonly protectProbes?: boolean;
}

export function registerAuth(app: FastifyInstance, opts: AuthOptions): void {
  app.decorateRequest('who', 'anonymous');
  app.decorateRequest('role', 'read');
  const failures = new Map<string, { count: number; since: number }>();
  const openReads = opts.openReads ?? (() => opts.tokens.length === 0);

  app.addHook('onRequest', async (req: FastifyRequest, reply) => {
    const path = req.url.split('?')[0]!;
    const read = req.method === 'GET' || req.method === 'HEAD';
    if (read && openReads()) return;
    if (PAGE_PATHS.has(path) && req.method === 'GET') return;
    if (!opts.protectProbes && OPEN_PATHS.has(path)) return;
    const now = Date.now();
    const f = failures.get(req.ip);
    if (f && now - f.since < WINDOW_MS && f.count >= MAX_FAILURES) {
      reply.header('retry-after', String(Math.ceil((f.since + WINDOW_MS - now) / 1000)));
      return refuse(
        reply,
        'MRD_ERR_API_RATE_LIMITED',
        'Too many failed authentications',
        `more than ${MAX_FAILURES} failed attempts from ${req.ip} in a minute; wait and retry`,
      );
    }
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const token = m ? find(opts.tokens, m[1]!) : undefined;
    if (!token) {
      const rec = f && now - f.since < WINDOW_MS ? f : { count: 0, since: now };
      rec.count++;
      failures.set(req.ip, rec);
      if (failures.size > 10_000) failures.clear();
      reply.header('www-authenticate', 'Bearer realm="meridian"');
      return refuse(reply, 'MRD_ERR_API_UNAUTHORIZED', 'Authentication required', m ? 'the bearer token is not valid' : 'send Authorization: Bearer <token>');
    }
    req.who = token.name;
    req.role = token.role;
    if (token.role === 'read' && !read) {
      return refuse(reply, 'MRD_ERR_API_FORBIDDEN', 'Read-only token', `token "${token.name}" may read but not change anything`);
    }
  });
}
