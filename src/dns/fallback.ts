/**
 * @module dns/fallback
 * The last resort when the pipeline throws (a bug): a SERVFAIL that echoes the ID, so the
 * client retries elsewhere instead of waiting. Never used for expected outcomes.
 */

/** A bare SERVFAIL for `msg`, or null when `msg` is too short or not a query. */
export function servfailFor(msg: Buffer): Buffer | null {
  if (msg.length < 12 || msg[2]! & 0x80) return null;
  const out = Buffer.alloc(12);
  msg.copy(out, 0, 0, 2);
  out[2] = 0x80 | (msg[2]! & 0x79); // QR, opcode and RD copied
  out[3] = 2; // SERVFAIL
  return out;
}
