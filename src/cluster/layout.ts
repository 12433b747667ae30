/**
 * @module cluster/layout
 * The one key layout of a Meridian cluster in etcd (docs/operations.md, "Running a cluster").
 * Everything lives under a prefix (`--etcd-prefix`, default `/meridian`):
 *
 *   <prefix>/zones/<zone>                a zone: its YAML document or master file, exactly the text
 *                                        of a file in a zones directory. Regions, pools, policies
 *                                        and checks are part of the zone document, as in files.
 *                                        <zone> is the name without the final dot (`.` for the root).
 *   <prefix>/overrides/<id>              an operator override (`endpoint:pool/id` or `region:id`),
 *                                        JSON; one that expires carries a lease that ends with it
 *   <prefix>/latency                     the shared latency table (the `--latency` file's format)
 *   <prefix>/dnssec/<zone>               a zone's DNSSEC key record (JSON, private keys included:
 *                                        guard etcd access; state/dnssec.ts, docs/dnssec.md)
 *   <prefix>/votes/<region>/<endpoint>   a region's latest vote on an endpoint (JSON), under the
 *                                        lease of the checker that cast it (TTL = stale_after)
 *   <prefix>/checkers/<region>           the region's active checker (JSON), under its lease:
 *                                        whoever creates the key runs the region's checks
 *   <prefix>/nodes/<id>                  a node or checker's membership record (JSON), under its lease
 *   <prefix>/audit/<time>-<node>-<n>     an audit log entry (JSON), kept 90 days
 *   <prefix>/cookie-secret               the DNS cookie secrets every node uses (JSON, secret:
 *                                        cluster/cookie-secrets.ts), rotated once a day
 *
 * The zones directory and etcd hold the same texts: `meridian cluster import` and `export` copy
 * one to the other.
 */
import { keyToPresentation } from '../proto/name.js';
import { loadZoneText } from '../zone/load.js';
import type { BuildResult } from '../zone/zone.js';

export class KeyLayout {
  readonly prefix: string;
  readonly zones: string;
  readonly overrides: string;
  readonly latency: string;
  readonly dnssec: string;
  readonly votes: string;
  readonly checkers: string;
  readonly nodes: string;
  readonly audit: string;
  readonly cookieSecret: string;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.zones = `${prefix}/zones/`;
    this.overrides = `${prefix}/overrides/`;
    this.latency = `${prefix}/latency`;
    this.dnssec = `${prefix}/dnssec/`;
    this.votes = `${prefix}/votes/`;
    this.checkers = `${prefix}/checkers/`;
    this.nodes = `${prefix}/nodes/`;
    this.audit = `${prefix}/audit/`;
    this.cookieSecret = `${prefix}/cookie-secret`;
  }

  /** Everything of this cluster (what a node watches). */
  get all(): string {
    return `${this.prefix}/`;
  }

  /** The key of a zone, from its origin key. */
  zone(origin: string): string {
    return this.zones + zoneKeyName(origin);
  }

  /** The key of a zone's DNSSEC key record. */
  dnssecKeys(origin: string): string {
    return this.dnssec + zoneKeyName(origin);
  }

  override(id: string): string {
    return this.overrides + id;
  }

  vote(region: string, endpoint: string): string {
    return `${this.votes}${region}/${endpoint}`;
  }

  checker(region: string): string {
    return this.checkers + region;
  }

  node(id: string): string {
    return this.nodes + id;
  }
}

/** `example.net.` → `example.net`; the root stays `.`. */
export function zoneKeyName(origin: string): string {
  const p = keyToPresentation(origin);
  return p === '.' ? '.' : p.replace(/\.$/, '');
}

/** A zone key's text is YAML when it is a mapping with a top-level `zone:`; a master file otherwise. */
export function sniffZoneKind(text: string): 'yaml' | 'master' {
  return /^zone\s*:/m.test(text) ? 'yaml' : 'master';
}

/** The file suffix a zone key's text gets when it is written out or loaded: `.yaml` or `.zone`. */
export function zoneSuffix(text: string): '.yaml' | '.zone' {
  return sniffZoneKind(text) === 'yaml' ? '.yaml' : '.zone';
}

/**
 * Builds a zone key's text the way every node does (and `cluster import` checks): as the file
 * `etcd:<key>.yaml` or `etcd:<key>.zone`, so a master file without `$ORIGIN` takes its origin
 * from the key's name, and errors name the key.
 */
export function loadZoneKey(key: string, text: string): BuildResult {
  return loadZoneText(text, `etcd:${key}${zoneSuffix(text)}`);
}
