/**
 * @module dns/cache
 * The encoded-answer cache. For answers that do not depend on the client, the pipeline encodes
 * once per (name, type) and afterwards only patches the ID, flags and question bytes
 * (dns/wire.ts `finishResponse`). One cache belongs to one snapshot, so a new snapshot starts
 * empty and an answer can never outlive the zone data it came from.
 */
import type { EncodedResponse } from './wire.js';

/** A bounded map that forgets its oldest entries first. */
export class AnswerCache {
  readonly #entries = new Map<string, EncodedResponse>();
  readonly #maxEntries: number;

  constructor(maxEntries = 20_000) {
    this.#maxEntries = maxEntries;
  }

  get(key: string): EncodedResponse | undefined {
    return this.#entries.get(key);
  }

  set(key: string, value: EncodedResponse): void {
    if (this.#entries.size >= this.#maxEntries) {
      // Random names (NXDOMAIN floods) must not grow memory without bound.
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, value);
  }

  get size(): number {
    return this.#entries.size;
  }
}
