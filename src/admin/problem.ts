/**
 * @module admin/problem
 * The admin API's one error path: every failure becomes an RFC 9457 problem details body
 * (`application/problem+json`): the `status` the registry (src/errors.ts) gives the error's code,
 * a `title` (the code's, or the occurrence's more precise summary), a `detail` in words, Meridian's error `code` (docs/errors.md) and, for bad input,
 * an `errors` list naming each field and the reason. The code is always the one the failure was
 * raised with; nothing here derives a code from a status. Routes throw (or hand to
 * {@link sendProblem}) a MeridianError; {@link errorHandler} maps what fastify itself throws
 * (schema validation, body limits, content types) to the API's codes, and anything else to
 * MRD_ERR_INTERNAL (500, logged).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { createError, fieldError, MeridianError, type DetailCode, type FieldProblem } from '../errors.js';
import { validateAgainst } from '../validation/validate.js';

export type { FieldProblem } from '../errors.js';

/** The problem body of `err`: status and title from the registry, by its code. */
export function problemBody(err: MeridianError, extra?: Record<string, unknown>) {
  return {
    type: 'about:blank',
    title: err.title,
    status: err.statusCode,
    detail: err.message,
    code: err.code,
    ...(err.errors.length > 0 ? { errors: err.errors } : {}),
    ...extra,
  };
}

/**
 * Sends `err` as a problem. `extra` adds extension members (RFC 9457 §3.2), such as a refused
 * drill's `report`.
 */
export function sendProblem(reply: FastifyReply, err: MeridianError, extra?: Record<string, unknown>): FastifyReply {
  return reply.code(err.statusCode).type('application/problem+json').send(problemBody(err, extra));
}

/**
 * Shorthand at the HTTP edge: a problem of `code` (its status from the registry) with a summary
 * of this occurrence as its title, the detail, and the fields at fault if any.
 */
export function refuse(reply: FastifyReply, code: DetailCode, title: string, detail: string, errors?: readonly FieldProblem[]): FastifyReply {
  return sendProblem(reply, (errors && errors.length > 0 ? fieldError(code, detail, errors) : createError(code, detail)).titled(title));
}

/** The MeridianError a request failure stands for, from whatever was thrown. */
export function errorOf(err: FastifyError | Error, req: FastifyRequest, bodyLimit: number): MeridianError {
  if (err instanceof MeridianError) return err;
  const f = err as FastifyError;
  if (f.validation) {
    const where = f.validationContext ?? 'body';
    const schema = (req.routeOptions.schema as Record<string, unknown> | undefined)?.[where] as TSchema | undefined;
    const data = where === 'body' ? req.body : where === 'querystring' ? req.query : where === 'params' ? req.params : req.headers;
    const problems = schema ? validateAgainst(schema, data) : [];
    const errors =
      problems.length > 0
        ? problems.map((p) => ({ field: p.message.includes(': ') ? p.message.slice(0, p.message.indexOf(': ')) : where, message: p.message }))
        : f.validation.map((v) => ({ field: `${where}${v.instancePath}`, message: `${v.instancePath || where} ${v.message ?? 'is invalid'}` }));
    return fieldError('MRD_ERR_API_BAD_REQUEST', errors.map((e) => e.message).join('; '), errors).titled(`The request ${where} is not valid`);
  }
  if (f.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return createError('MRD_ERR_API_TOO_LARGE', `the limit is ${bodyLimit} bytes`);
  if (f.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return createError('MRD_ERR_API_MEDIA_TYPE', `send application/json${req.url.includes('/import') ? ', or text/dns for a master file' : ''}`);
  }
  if (f.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || f.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
    return createError('MRD_ERR_API_BAD_REQUEST', err.message).titled('The body is not valid JSON');
  }
  // Any other client error fastify raises (a bad Content-Length, a malformed URL) is a request the
  // API cannot take as sent.
  const status = f.statusCode ?? 500;
  if (status === 413) return createError('MRD_ERR_API_TOO_LARGE', err.message).titled(err.message);
  if (status === 415) return createError('MRD_ERR_API_MEDIA_TYPE', err.message).titled(err.message);
  if (status >= 400 && status < 500) return createError('MRD_ERR_API_BAD_REQUEST', err.message).titled(err.message);
  return createError('MRD_ERR_INTERNAL', 'the request failed; the node logged the details');
}

/** The admin API's error handler: every thrown failure answered as its problem. */
export function errorHandler(bodyLimit: number) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const e = errorOf(err, req, bodyLimit);
    if (e.code === 'MRD_ERR_INTERNAL') req.log.error({ err, url: req.url, method: req.method }, 'admin request failed');
    else if (e.statusCode >= 500) req.log.warn({ code: e.code, err: e.message, url: req.url, method: req.method }, 'admin request refused');
    return sendProblem(reply, e);
  };
}

/** The answer for a URL no route serves. */
export function notFoundHandler(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return refuse(reply, 'MRD_ERR_API_NOT_FOUND', 'Not found', `no route ${req.method} ${req.url.split('?')[0]}`);
}
