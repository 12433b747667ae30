/**
 * @module policy/common
 * Small pieces every policy uses: filtering usable endpoints, weighted and uniform picks,
 * the sticky hash, and trace notes.
 */
import type { Endpoint, EvalContext } from './types.js';

/**
 * Endpoints that are usable now and carry weight (weight 0 means drained). The weight is the
 * health view's: what the target reports while fresh, else the configured one.
 */
export function usableEndpoints(endpoints: readonly Endpoint[], ctx: EvalContext, path: string): Endpoint[] {
  const out: Endpoint[] = [];
  for (const ep of endpoints) {
    const w = ctx.health.weight(ep);
    if (w > 0 && ctx.health.usable(ep)) out.push(ep);
    else if (ctx.trace)
      note(
        ctx,
        path,
        `excluded ${ep.key}: ${w <= 0 ? (w === ep.weight ? 'weight 0 (drained)' : 'reported weight 0 (drained by its target)') : (ctx.health.reason(ep) ?? 'not usable')}`,
      );
  }
  return out;
}

export function countUsable(endpoints: readonly Endpoint[], ctx: EvalContext): number {
  let n = 0;
  for (const ep of endpoints) if (ctx.health.weight(ep) > 0 && ctx.health.usable(ep)) n++;
  return n;
}

/** Every choice weighs the same (uniform picks through {@link EvalContext.pick}). */
export const SAME_WEIGHT = (_i: number): number => 1;

/** Index picked with probability proportional to `weightOf(i)`; -1 when all weights are 0. */
export function pickWeighted(count: number, weightOf: (i: number) => number, random: () => number): number {
  let total = 0;
  for (let i = 0; i < count; i++) total += weightOf(i);
  if (total <= 0) return -1;
  let r = random() * total;
  for (let i = 0; i < count; i++) {
    r -= weightOf(i);
    if (r < 0) return i;
  }
  return count - 1;
}

/**
 * The path of a child node in the trace (`geo > branch EU`). Without a trace it is not built:
 * the DNS path must not pay for strings nobody reads.
 */
export function sub(ctx: EvalContext, path: string, label: string): string {
  return ctx.trace ? `${path} > ${label}` : path;
}

/** Records a trace note (only when the simulator asked for a trace). */
export function note(ctx: EvalContext, at: string, text: string): void {
  ctx.trace?.push({ at, note: text });
}

/** Raises the decision's ECS scope to at least `prefix` (RFC 7871 §7.2.1). */
export function dependOn(ctx: EvalContext, prefix: number): void {
  if (prefix > ctx.scope) ctx.scope = prefix;
}

/** murmur3's 32-bit finaliser: spreads every input bit over the output. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the first `bits` bits of `bytes` (later bits masked off), then mixed. */
export function hashPrefix(bytes: Uint8Array, bits: number, family: number): number {
  let h = 0x811c9dc5 ^ family;
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  const rest = bits & 7;
  if (rest) h = Math.imul(h ^ (bytes[whole]! & (0xff << (8 - rest))), 0x01000193);
  h = Math.imul(h ^ bits, 0x01000193);
  return mix32(h >>> 0);
}

/** A stable 32-bit seed for a string (endpoint keys). */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return mix32(h >>> 0);
}

/**
 * Weighted rendezvous hashing (highest random weight): each candidate scores
 * `weight / -ln(u)` with `u` uniform in (0,1) from hash(client key, candidate seed); the highest
 * wins. Each candidate wins with probability proportional to its weight, and removing one moves
 * only the clients that had it (RFC-less, but the classic result of Thaler and Ravishankar).
 */
export function rendezvous(clientHash: number, count: number, seedOfIndex: (i: number) => number, weightOf: (i: number) => number): number {
  let best = -1;
  let bestScore = -Infinity;
  for (let i = 0; i < count; i++) {
    const w = weightOf(i);
    if (w <= 0) continue;
    const u = (mix32((clientHash ^ seedOfIndex(i)) >>> 0) + 0.5) / 4294967296;
    const score = w / -Math.log(u);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}
