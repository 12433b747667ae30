/**
 * @module admin/response-check
 * A self-check of the admin API's documented responses, turned on with
 * `MERIDIAN_CHECK_RESPONSES=FILE` (the test suite sets it for every node it starts, in-process or
 * spawned; see test/support/response-check-setup.ts). For every response it looks up the route's
 * `schema.response` entry for the status and media type (the same entry /openapi.json publishes,
 * and fastify serializes with) and appends a JSON line to FILE:
 *   - `{ ok: true, ... }` the first time a route, status and media type is seen;
 *   - `{ ok: false, problem, ... }` when the status or media type is not documented, the body
 *     does not match the schema, or serializing changed the body (a property the schema lacks is
 *     dropped by fast-json-stringify without a word; here it is a failure).
 * Nothing about the response changes; it costs a validation per response, so it is off unless asked.
 */
import fs from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Problem } from './api-schemas.js';

export interface ResponseCheckLine {
  ok: boolean;
  method: string;
  route: string | null;
  url: string;
  status: number;
  type: string | null;
  problem?: string;
}

const ORIGINAL = Symbol('meridian.original-payload');
type Stashed = FastifyReply & { [ORIGINAL]?: unknown };

/** Parses, say, `application/json; charset=utf-8` to `application/json`. */
function mediaType(header: unknown): string | null {
  if (typeof header !== 'string' || header === '') return null;
  return header.split(';')[0]!.trim().toLowerCase();
}

const isJson = (m: string | null) => m !== null && (m === 'application/json' || m.endsWith('+json'));

/** Where two JSON values first differ, as a JSON pointer; null when they are equal. */
export function firstDifference(a: unknown, b: unknown, at = ''): string | null {
  if (isDeepStrictEqual(a, b)) return null;
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}/${k}`);
      if (d !== null) return d;
    }
    return null;
  }
  return `${at || '/'} (${JSON.stringify(a)?.slice(0, 80)} became ${JSON.stringify(b)?.slice(0, 80)})`;
}

/** The `schema.response` entry for a status: exact, then `4xx`-style, then `default`. */
function entryFor(responses: Record<string, unknown> | undefined, status: number): Record<string, unknown> | null {
  if (!responses) return null;
  const e = responses[String(status)] ?? responses[`${String(status)[0]}xx`] ?? responses[`${String(status)[0]}XX`] ?? responses['default'];
  return e && typeof e === 'object' ? (e as Record<string, unknown>) : null;
}

export function installResponseCheck(app: FastifyInstance, file: string): void {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const compiled = new WeakMap<object, ValidateFunction>();
  const validator = (schema: object): ValidateFunction => {
    let fn = compiled.get(schema);
    if (!fn) {
      fn = ajv.compile(schema);
      compiled.set(schema, fn);
    }
    return fn;
  };
  const seen = new Set<string>();
  const write = (line: ResponseCheckLine): void => {
    const key = `${line.method} ${line.route} ${line.status} ${line.type}`;
    if (line.ok && seen.has(key)) return;
    seen.add(key);
    try {
      fs.appendFileSync(file, `${JSON.stringify(line)}\n`);
    } catch {
      // the check must never break a response
    }
  };

  app.addHook('preSerialization', async (_req, reply, payload) => {
    // What the handler sent, as JSON would carry it (toJSON, undefined dropped), to compare with
    // what the serializer made of it.
    try {
      (reply as Stashed)[ORIGINAL] = JSON.parse(JSON.stringify(payload)) as unknown;
    } catch {
      // not JSON-able: the serializer will say so
    }
    return payload;
  });

  app.addHook('onSend', async (req: FastifyRequest, reply, payload) => {
    try {
      check(req, reply, payload);
    } catch (err) {
      write({
        ok: false,
        method: req.method,
        route: req.routeOptions.url ?? null,
        url: req.url,
        status: reply.statusCode,
        type: null,
        problem: `the check failed: ${(err as Error).message}`,
      });
    }
    return payload;
  });

  function check(req: FastifyRequest, reply: FastifyReply, payload: unknown): void {
    const status = reply.statusCode;
    const type = mediaType(reply.getHeader('content-type'));
    const route = req.routeOptions.url ?? null;
    const base = { method: req.method, route, url: req.url.split('?')[0]!, status, type };
    const fail = (problem: string) => write({ ...base, ok: false, problem });
    const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : payload == null ? '' : null;
    // Not a route (the not-found handler): the body must still be a problem.
    const responses =
      route === null
        ? { [String(status)]: { content: { 'application/problem+json': { schema: Problem } } } }
        : (req.routeOptions.schema as { response?: Record<string, unknown> } | undefined)?.response;
    const entry = entryFor(responses, status);
    if (!entry) return fail(`status ${status} is not documented`);
    let schema: object | null;
    if (entry['content'] && typeof entry['content'] === 'object') {
      const media = (entry['content'] as Record<string, { schema?: object }>)[type ?? ''];
      if (!media) return fail(`media type ${type ?? '(none)'} is not documented for ${status}`);
      schema = media.schema ?? null;
    } else if (entry['type'] === 'null') {
      if (text !== '') fail(`${status} is documented without a body, but it has one`);
      else write({ ...base, ok: true });
      return;
    } else {
      schema = entry;
      if (!isJson(type)) return fail(`media type ${type ?? '(none)'} is not documented for ${status} (only application/json)`);
    }
    if (text === null) return write({ ...base, ok: true }); // a stream: nothing to look at
    if (!schema) return write({ ...base, ok: true });
    let body: unknown = text;
    if (isJson(type)) {
      try {
        body = JSON.parse(text);
      } catch {
        return fail(`the body is not JSON: ${text.slice(0, 80)}`);
      }
    }
    const validate = validator(schema);
    if (!validate(body)) return fail(`the body does not match the schema: ${ajv.errorsText(validate.errors, { separator: '; ' })}`);
    const stash = reply as Stashed;
    if (isJson(type) && ORIGINAL in stash) {
      const diff = firstDifference(stash[ORIGINAL], body);
      if (diff !== null) return fail(`serializing changed the body at ${diff}`);
    }
    write({ ...base, ok: true });
  }
}
