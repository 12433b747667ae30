/**
 * @module admin/problem
 * Errors of the admin API as RFC 9457 problem details (`application/problem+json`): a `title`,
 * the `status`, a `detail` in words, Meridian's error `code` (docs/errors.md) and, for bad
 * input, an `errors` list naming each field and the reason.
 */
import type { FastifyReply } from 'fastify';
import type { ErrorCode } from '../errors.js';

export interface FieldProblem {
  field?: string | undefined;
  code?: string;
  message: string;
  line?: number;
}

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'MRD_ERR_API_BAD_REQUEST',
  401: 'MRD_ERR_API_UNAUTHORIZED',
  403: 'MRD_ERR_API_FORBIDDEN',
  404: 'MRD_ERR_API_NOT_FOUND',
  409: 'MRD_ERR_API_CONFLICT',
  412: 'MRD_ERR_API_PRECONDITION',
  413: 'MRD_ERR_API_TOO_LARGE',
  415: 'MRD_ERR_API_MEDIA_TYPE',
  429: 'MRD_ERR_API_RATE_LIMITED',
  503: 'MRD_ERR_API_UNAVAILABLE',
};

/** `code` overrides the one the status implies, for a refusal with its own code (docs/errors.md). */
export function problemBody(status: number, title: string, detail: string, errors?: readonly FieldProblem[], code: ErrorCode = CODE_BY_STATUS[status] ?? 'MRD_ERR_API_BAD_REQUEST') {
  return { type: 'about:blank', title, status, detail, code, ...(errors && errors.length > 0 ? { errors } : {}) };
}

export function sendProblem(reply: FastifyReply, status: number, title: string, detail: string, errors?: readonly FieldProblem[], code?: ErrorCode): FastifyReply {
  return reply.code(status).type('application/problem+json').send(problemBody(status, title, detail, errors, code));
}
