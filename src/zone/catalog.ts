/**
 * @module zone/catalog
 * The set of zones a snapshot serves, and the longest-suffix match that picks the zone for a
 * query name (RFC 1034 §4.3.2 step 2: "the nearest ancestor to QNAME" among the zones held).
 * Called once per query by dns/pipeline.ts; built by state/snapshot.ts for each snapshot swapped in.
 */
import { splitKey } from '../proto/name.js';
import type { Zone } from './zone.js';

/** An immutable map of origin → zone. */
export class Catalog {
  readonly #zones: ReadonlyMap<string, Zone>;

  constructor(zones: Iterable<Zone>) {
    const map = new Map<string, Zone>();
    for (const z of zones) map.set(z.origin, z);
    this.#zones = map;
  }

  /** The zones, in no particular order. */
  get zones(): IterableIterator<Zone> {
    return this.#zones.values();
  }

  get size(): number {
    return this.#zones.size;
  }

  /** The zone with this exact origin. */
  get(origin: string): Zone | undefined {
    return this.#zones.get(origin);
  }

  /** The zone whose origin is the longest suffix of `qkey`, or undefined (REFUSED). */
  findZone(qkey: string): Zone | undefined {
    const zones = this.#zones;
    let z = zones.get(qkey);
    if (z) return z;
    if (!qkey.includes('\\')) {
      // Common case: no escaped dots, so every '.' separates labels.
      let i = qkey.indexOf('.');
      while (i !== -1) {
        z = zones.get(qkey.slice(i + 1));
        if (z) return z;
        i = qkey.indexOf('.', i + 1);
      }
      return zones.get('');
    }
    const parts = splitKey(qkey);
    for (let i = 1; i <= parts.length; i++) {
      z = zones.get(parts.slice(i).join('.'));
      if (z) return z;
    }
    return undefined;
  }
}
