/**
 * @module dns/cache
 * The encoded-answer cache. For answers that do not depend on the client, the pipeline encodes
 * once per (name, type) and afterwards only patches the ID, flags and question bytes
 * (proto/wire.ts `finishResponse`). One cache belongs to one snapshot ({@link answerCacheOf}), so a
 * new snapshot starts empty and an answer can never outlive the zone data it came from.
 */
import type { EncodedResponse } from '../proto/wire.js';
import type { Snapshot } from '../state/snapshot.js';
import type { LookupResult } from '../zone/lookup.js';
import type { Endpoint } from '../policy/types.js';
import { signatureCounters } from '../dnssec/signer.js';

/**
 * A cache entry for a (type, name) whose answer a policy picks per query: where the lookup
 * ended (the CNAME chain and the policy record), so that only the decision runs per query.
 */
export class PolicyRoute {
  /** Encoded answers by decision: one endpoint (by identity), several (by their keys), none. */
  readonly #single = new Map<Endpoint, EncodedResponse>();
  readonly #multi = new Map<string, EncodedResponse>();
  #none: EncodedResponse | undefined;

  constructor(readonly result: LookupResult & { kind: 'answer' }) {}

  /**
   * The encoded answer for a decision, made by `encode` the first time it is seen (and again
   * once a signed answer's signatures are due to be re-made, dnssec/signer.ts).
   */
  answer(endpoints: readonly Endpoint[], encode: () => EncodedResponse): EncodedResponse {
    if (endpoints.length === 1) {
      const ep = endpoints[0]!;
      const hit = this.#single.get(ep);
      if (fresh(hit)) return counted(hit);
      const made = encode();
      this.#single.set(ep, made);
      return made;
    }
    if (endpoints.length === 0) {
      if (fresh(this.#none)) return counted(this.#none);
      return (this.#none = encode());
    }
    let key = '';
    for (const e of endpoints) key += e.key + ' ';
    let hit = this.#multi.get(key);
    if (!fresh(hit)) {
      // Shuffled multivalue answers can have many orders; keep memory bounded.
      if (this.#multi.size >= MAX_DECISIONS_PER_NAME) this.#multi.clear();
      this.#multi.set(key, (hit = encode()));
      return hit;
    }
    return counted(hit);
  }
}

/** A cached answer that may still be served: unsigned, or its signatures not yet due. */
function fresh(hit: EncodedResponse | undefined): hit is EncodedResponse {
  return hit !== undefined && (hit.refreshAt === undefined || Date.now() < hit.refreshAt);
}

/** Counts a cached answer's signatures as served from cache (metrics); returns it. */
function counted(hit: EncodedResponse): EncodedResponse {
  if (hit.signatures) signatureCounters.cached += hit.signatures;
  return hit;
}

const MAX_DECISIONS_PER_NAME = 4096;

export type CacheEntry = EncodedResponse | PolicyRoute;

/**
 * A bounded map in two generations: new entries go into the young one; when it is full it
 * becomes the old one and the previous old one is dropped whole. A hit in the old generation
 * is promoted. Every operation is O(1) — evicting from the front of one large Map one key at a
 * time is not: V8 leaves deleted slots behind and `keys().next()` walks them, which made a flood
 * of random names (all NXDOMAIN, all cache misses) four times slower than it needs to be.
 */
export class AnswerCache {
  #young = new Map<string, CacheEntry>();
  #old = new Map<string, CacheEntry>();
  readonly #generationSize: number;

  /** Holds at most `maxEntries` answers (two generations of half that each). */
  constructor(maxEntries = 20_000) {
    this.#generationSize = Math.max(1, Math.floor(maxEntries / 2));
  }

  get(key: string): CacheEntry | undefined {
    const hit = this.#young.get(key);
    if (hit !== undefined) return hit;
    const old = this.#old.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  set(key: string, value: CacheEntry): void {
    if (this.#young.size >= this.#generationSize) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }

  /** Entries held, counting a promoted key once per generation it sits in. */
  get size(): number {
    return this.#young.size + this.#old.size;
  }
}

/**
 * Each snapshot's cache, made on its first query. Keyed weakly by the snapshot: the snapshot
 * itself knows nothing of the DNS layer (state imports nothing of dns), and a cache is dropped
 * with its snapshot.
 */
const caches = new WeakMap<Snapshot, AnswerCache>();

/** The encoded-answer cache of `snapshot` (empty at first). */
export function answerCacheOf(snapshot: Snapshot): AnswerCache {
  let cache = caches.get(snapshot);
  if (cache === undefined) caches.set(snapshot, (cache = new AnswerCache()));
  return cache;
}
