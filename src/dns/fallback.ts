/**
 * @module dns/fallback
 * How a transport answers one message ({@link answerMessage}: the pipeline, timed for metrics),
 * and the last resort when the pipeline throws (a bug): a SERVFAIL that echoes the ID, so the
 * client retries elsewhere instead of waiting. Never used for expected outcomes.
 */
import type { Logger } from 'pino';
import { handleQuery, type PipelineOutput, type QueryContext, type QueryEnv } from './pipeline.js';

/**
 * Answers one message for a transport (dns/udp.ts, dns/tcp.ts): through the pipeline, timed from
 * arrival to answer when `latency` is given. A throw costs one answer (a SERVFAIL, logged), not
 * the server.
 */
export function answerMessage(msg: Buffer, ctx: QueryContext, env: QueryEnv, log: Logger, latency?: (seconds: number) => void): PipelineOutput {
  const t0 = latency ? performance.now() : 0;
  let out: PipelineOutput;
  try {
    out = handleQuery(msg, ctx, env);
  } catch (err) {
    log.error({ err, remote: ctx.remoteAddress }, 'query failed');
    out = servfailFor(msg);
  }
  if (latency) latency((performance.now() - t0) / 1000);
  return out;
}

/** A bare SERVFAIL for `msg`, or null when `msg` is too short or not a query. */
export function servfailFor(msg: Buffer): Buffer | null {
  if (msg.length < 12 || msg[2]! & 0x80) return null;
  const out = Buffer.alloc(12);
  msg.copy(out, 0, 0, 2);
  out[2] = 0x80 | (msg[2]! & 0x79); // QR, opcode and RD copied
  out[3] = 2; // SERVFAIL
  return out;
}
