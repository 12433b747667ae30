/**
 * @module policy/types
 * The compiled model that policies run on: regions, endpoints, pools, policy nodes and policy
 * records, plus what one evaluation reads (the client, the health view) and writes (the ECS
 * scope, an optional trace). Compiled once per zone load by policy/compile.ts; read-only after.
 *
 * Every policy implements {@link PolicyNode}: given the context, return the endpoints it picks,
 * or `null` when nothing under it is usable, so that its parent can try something else.
 *
 * Each kind of policy is one module in policy/kinds/ that exports a {@link PolicyKind}: the
 * schema of its options, the compile step that turns checked options into a node, and the node
 * class. policy/registry.ts lists them; policy/compile.ts walks a tree and hands each node to
 * its kind through a {@link KindCompiler}.
 */
import type { TSchema } from '@sinclair/typebox';
import type { ErrorArgs, ErrorCode } from '../errors.js';
import type { PathSegment } from '../validation/validate.js';
import type { HealthView } from './health-view.js';
import type { Client } from './client.js';
import type { LatencyTable } from './latency-table.js';
import type { GeoDatabase } from './geoip.js';
import type { CheckPlan } from '../checks/config.js';

/** Where capacity lives. */
export interface Region {
  readonly id: string;
  readonly name: string;
  readonly lat: number;
  readonly lon: number;
  /** ISO 3166-1 alpha-2, upper case. */
  readonly country: string;
  /** Two-letter continent code: AF AN AS EU NA OC SA. */
  readonly continent: string;
}

/** One answerable target: an address (A or AAAA) or a hostname (answered as CNAME). */
export interface Endpoint {
  /** `pool/id`: unique in its zone; the key of its health and overrides. */
  readonly key: string;
  readonly pool: string;
  readonly id: string;
  readonly region: string;
  readonly weight: number;
  /** 1 (A), 28 (AAAA) or 5 (CNAME). */
  readonly rrtype: number;
  /** The RDATA in wire form: 4 or 16 address octets, or the uncompressed target name. */
  readonly rdata: Buffer;
  /** The address or hostname as written. */
  readonly value: string;
  /** A 32-bit number fixed per endpoint, mixed into sticky hashes. */
  readonly seed: number;
  /** The health check it runs (its own, else its pool's), or null: no check, health stays unknown. */
  readonly check: CheckPlan | null;
}

export interface Pool {
  readonly id: string;
  readonly endpoints: readonly Endpoint[];
}

/** What the trace of one evaluation records (the simulator's explanation). */
export interface TraceStep {
  /** Path in the tree: `geo > branch EU > latency`. */
  readonly at: string;
  readonly note: string;
}

/** One evaluation's inputs and running outputs. Allocated once per query. */
export interface EvalContext {
  readonly client: Client;
  readonly health: HealthView;
  readonly latency: LatencyTable | null;
  /** The geolocation database in force (policy/geoip.ts `--geoip-db` file); null: the embedded geoip-lite. */
  readonly geo: GeoDatabase | null;
  /** Record type being answered (A or AAAA); endpoints of other address families never qualify. */
  readonly qtype: number;
  /**
   * Every random choice a policy makes goes through here: index `i` of `count` with probability
   * `weightOf(i) / Σ weightOf`, or -1 when every weight is 0. The DNS path rolls Math.random
   * (policy/evaluate.ts RANDOM_CHOOSER); a drill preview walks every outcome instead
   * (policy/evaluate.ts {@link Chooser}, `outcomes`), so both run the same policy code.
   */
  readonly pick: (count: number, weightOf: (i: number) => number) => number;
  /**
   * False when only the set of endpoints matters, not their order (drill previews): multivalue
   * then does not shuffle an answer it returns whole. An RRset has no order (RFC 2181 §5).
   */
  readonly ordered: boolean;
  /** The widest prefix of the client address the decision has depended on so far (RFC 7871 §7.2.1). */
  scope: number;
  /** Set by the simulator; undefined on the DNS path, where nothing is recorded. */
  readonly trace: TraceStep[] | undefined;
}

/** The source of a policy's random choices (see {@link EvalContext.pick}). */
export interface Chooser {
  readonly pick: (count: number, weightOf: (i: number) => number) => number;
  readonly ordered: boolean;
}

/** A node of a policy tree. */
export interface PolicyNode {
  /** The name of its kind ({@link PolicyKind.name}: `pool`, `weighted`, ...), the first step of trace paths. */
  readonly kind: string;
  /** The endpoints chosen, or null when nothing below is usable. Never throws, never awaits. */
  evaluate(ctx: EvalContext, path: string): Endpoint[] | null;
  /** Endpoints below this node that are usable now (failover's `min_healthy`). */
  usableCount(ctx: EvalContext): number;
  /** The child policies (none for leaves), for tools that walk a tree (drill previews). */
  children(): readonly PolicyNode[];
  /** Countries this node routes by name (geo), so drills can pick vantage points there. */
  readonly routedCountries?: readonly string[];
  /** Every endpoint below this node (the `serve_all` answer). */
  readonly endpoints: readonly Endpoint[];
  /** True when the choice can depend on the client's address. */
  readonly clientDependent: boolean;
}

/** What a record does when its tree finds nothing usable. */
export type AllDown = { readonly kind: 'serve_all' } | { readonly kind: 'serve_none' } | { readonly kind: 'pool'; readonly pool: Pool };

/** A policy record: a name whose A, AAAA or CNAME answer is chosen per query. */
export interface PolicyRecord {
  /** Owner key (may be a wildcard `*.x`). */
  readonly owner: string;
  /** 1 (A), 28 (AAAA) or 5 (CNAME). */
  readonly rrtype: number;
  readonly ttlSeconds: number;
  readonly tree: PolicyNode;
  readonly onAllDown: AllDown;
  /** Where it was written, for messages. */
  readonly at: { readonly file: string; readonly line: number };
}

/** The outcome of one evaluation of a record. */
export interface Decision {
  /** Endpoints to answer with, in answer order; empty means NODATA (serve_none). */
  readonly endpoints: readonly Endpoint[];
  /** ECS scope prefix length (RFC 7871 §7.2.1): the leading bits the decision read; may exceed the source prefix. */
  readonly scope: number;
  /** True when the tree found nothing usable and `on_all_down` decided. */
  readonly allDown: boolean;
}

// ---- kinds of policy (policy/registry.ts) ---------------------------------------------------

/** The schema pieces a kind's option schema is made of (policy/schema.ts provides them). */
export interface SchemaKit {
  /** An id (pool, region): the same pattern and message everywhere. */
  id(description: string): TSchema;
  /** A child policy: checked here only as a map with one key; the walk checks it by its own kind. */
  node(description: string): TSchema;
}

/**
 * What the shared walk (policy/compile.ts) gives a kind's compile step. Every path is the full
 * path from the zone document's root (`policies[3].policy.geo.branches[0]`), so a problem
 * reported through {@link fail} points at its line.
 */
export interface KindCompiler {
  /** The record type being compiled for (1 A, 28 AAAA, 5 CNAME). */
  readonly rrtype: number;
  /** Compiles a child node at `path` (checked against its own kind's schema); null after reporting. */
  node(raw: unknown, path: PathSegment[]): PolicyNode | null;
  /** The tree of another policy record (`use`), with loop detection; null after reporting. */
  use(name: string, path: PathSegment[]): PolicyNode | null;
  /** The endpoints of a pool that can answer {@link rrtype}; null after reporting why not. */
  poolEndpoints(id: string, path: PathSegment[]): Endpoint[] | null;
  /** A region compiled without problems. */
  region(id: string): Region | undefined;
  /** Every region of the zone compiled without problems (the map the zone keeps). */
  regions(): ReadonlyMap<string, Region>;
  /** True when a region of this id is written in the zone (it may have been bad, and reported). */
  regionDefined(id: string): boolean;
  /** Reports a problem (the same problem at the same path is reported once). */
  fail<C extends ErrorCode>(code: C, path: PathSegment[], ...args: ErrorArgs<C>): void;
  /** A path as text, for messages (`policies[0].policy.geo`). */
  pathText(path: readonly PathSegment[]): string;
  /** Says that the zone needs the geolocation database (loaded once, after a clean compile). */
  needsGeoip(): void;
}

/**
 * One kind of policy: one module in policy/kinds/, one line in policy/registry.ts, one page in
 * docs/policies/. `compile` gets options that passed `schema` already.
 */
export interface PolicyKind<Options = never> {
  /** The key that names it in a zone (`weighted`). */
  readonly name: string;
  /** The JSON Schema of its options (the value under its key). */
  schema(kit: SchemaKit): TSchema;
  /** The node for these options at `at` (the path of the options), or null after reporting. */
  compile(options: Options, at: PathSegment[], c: KindCompiler): PolicyNode | null;
}
