/**
 * @module admin/api-schemas
 * What the admin API answers, as TypeBox (JSON Schema) schemas: the RFC 9457 problem body every
 * error has, and the body of each success response. Routes put them in `schema.response`, so
 * fastify serializes through them (fast-json-stringify) and @fastify/swagger publishes them in
 * `/openapi.json` (docs/api.md).
 *
 * A serializer drops what its schema does not declare, so these schemas list every property a
 * handler sends; where a body is open-ended (policy trees, audit details, DNS RDATA) or still
 * growing (region and drill views) the schema says `additionalProperties: true`, so nothing is
 * lost. `MERIDIAN_CHECK_RESPONSES` (admin/response-check.ts) checks, response by response, that
 * the schema matches and that serializing lost nothing; the test suite runs with it.
 *
 * Field names are snake_case (docs/api.md, "Field names"). A renamed field keeps its old name
 * beside the new one, equal to it and marked `deprecated: true` ({@link renamed}), until the next
 * minor release.
 *
 * Helpers here also add, on every route, the error responses that come from what every route
 * shares (auth, body parsing, validation, internal errors): {@link commonErrors}.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { EndpointDetailSchema, EndpointStatusCounts, MemberSchema, RegionCountsSchema, RegionStatusWord, renamed } from '../health/status-schema.js';
import { codes, type ErrorCode } from '../errors.js';

/** `T` or `null`. */
export function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

const open = { additionalProperties: true } as const;

// ---- errors ----------------------------------------------------------------------------------

/** A registered error code (src/errors.ts): an answer never carries a code the registry lacks. */
function Code(description: string) {
  return Type.Unsafe<ErrorCode>({ type: 'string', enum: Object.keys(codes), description });
}

export const FieldProblem = Type.Object(
  {
    field: Type.Optional(Type.String({ description: 'The field at fault (`soa.serial`, `records[2].ttl`), or where in the request (`body`, `querystring`).' })),
    code: Type.Optional(Code('Meridian error code of this problem (docs/errors.md), e.g. `MRD_ERR_ZONE_SCHEMA`.')),
    message: Type.String({ description: 'The reason, in words.' }),
    line: Type.Optional(Type.Integer({ description: 'Line of the master file (zone import).' })),
  },
  { title: 'FieldProblem', description: 'One reason a request was refused.', ...open },
);

/** RFC 9457 problem details, as admin/problem.ts sends them. */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'Always `about:blank` (RFC 9457 §4.2.1): `title` and `code` say what happened.' }),
    title: Type.String({ description: 'A short summary of the problem.' }),
    status: Type.Integer({ description: 'The HTTP status code.' }),
    detail: Type.String({ description: 'What went wrong in this request, in words.' }),
    code: Code("Meridian error code (docs/errors.md), e.g. `MRD_ERR_API_CONFLICT`; its `status` is the code's."),
    errors: Type.Optional(Type.Array(FieldProblem, { description: 'For bad input: each field and reason.' })),
    report: Type.Optional(Type.Object({}, { description: 'A refused drill (409 from `startDrill`): its report, with the safety rules that failed.', ...open })),
  },
  { title: 'Problem', description: 'An error, as RFC 9457 problem details (`application/problem+json`).', ...open },
);

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

const STATUS_WORDS: Record<number, string> = {
  400: 'Bad request: the body, query or a field is not valid (see `errors`)',
  401: 'Authentication required: no bearer token, or not a valid one',
  403: 'The token is read-only',
  404: 'Not found',
  409: 'Conflict with the current state',
  412: 'If-Match does not match the current ETag',
  413: 'The request body is too large',
  415: 'Unsupported content type',
  422: 'The zone is kept as a master file, which cannot hold what the write gives it (MRD_ERR_API_MASTER_FILE); nothing was changed',
  429: 'Too many failed authentications from this address; see Retry-After',
  500: 'Internal error (the node logs the details)',
  503: 'The change could not be stored (the store is unreachable); nothing was changed',
};

/** A problem response for `status`, with its own words or the usual ones. */
export function problemResponse(status: number, description?: string) {
  return { description: description ?? STATUS_WORDS[status] ?? 'Error', content: { [PROBLEM_MEDIA_TYPE]: { schema: Problem } } };
}

/** Problem responses for these statuses, as `schema.response` entries. */
export function problems(...statuses: number[]): Record<string, ReturnType<typeof problemResponse>> {
  return Object.fromEntries(statuses.map((s) => [String(s), problemResponse(s)]));
}

/** A JSON success body with the description of the response. */
export function ok<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description } as T;
}

/** A body in another media type (YAML, a master file, HTML, Prometheus text). */
export function text(description: string, ...mediaTypes: string[]) {
  return { description, content: Object.fromEntries(mediaTypes.map((m) => [m, { schema: Type.String() }])) };
}

/** No body (204). */
export function noContent(description: string) {
  return { description, type: 'null' } as const;
}

const ETAG = { etag: { type: 'string', description: "The zone's ETag, for If-Match on the next write." } };

/** Adds the ETag header to a response entry. */
export function withEtag<T extends object>(response: T): T & { headers: typeof ETAG } {
  return { ...response, headers: ETAG };
}

/**
 * The error statuses every route can answer from what all routes share: auth (401, 429; 403 for
 * writes), body parsing and validation (400, 413, 415 on methods with a body; 400 when a query
 * string is validated) and internal errors (500). Pages and open probes skip auth.
 */
export function commonErrors(method: string, opts: { auth: boolean; query: boolean }): number[] {
  const out: number[] = [];
  const writes = method !== 'GET' && method !== 'HEAD';
  if (writes || opts.query) out.push(400);
  if (opts.auth) out.push(401);
  if (opts.auth && writes) out.push(403);
  if (writes) out.push(413, 415);
  if (opts.auth) out.push(429);
  out.push(500);
  return out;
}

// ---- probes ----------------------------------------------------------------------------------

export const Liveness = Type.Object({ status: Type.Literal('ok') }, { title: 'Liveness' });

export const LocalTokenFile = Type.Object(
  {
    token_file: Type.String({
      description: 'Absolute path of the file (mode 0600) that holds the write token this node made for itself; whoever can read it can write.',
    }),
  },
  { title: 'LocalTokenFile' },
);

export const Readiness = Type.Object(
  {
    status: Type.String({ description: '`ready`, `degraded` (etcd unreachable, still answering from the last snapshot) or `not ready`.' }),
    reason: Type.Optional(Type.String({ description: 'Why it is not ready, or degraded.' })),
    zones: Type.Optional(Type.Integer({ description: 'Zones loaded.' })),
    revision: Type.Optional(Type.Integer({ description: 'Cluster mode: the configuration revision served.' })),
    dns_workers: Type.Optional(
      Type.Object(
        {
          configured: Type.Integer({ description: 'DNS worker processes configured (`--workers`).' }),
          serving: Type.Integer({ description: 'DNS workers serving now; fewer while one is being replaced (degraded), none: not ready.' }),
        },
        { description: 'With `--workers N`: the DNS worker processes.' },
      ),
    ),
  },
  { title: 'Readiness', ...open },
);

// ---- zones and records -----------------------------------------------------------------------

export const FileError = Type.Object(
  {
    code: Type.String({ description: 'Error code (docs/errors.md).' }),
    line: Type.Integer({ description: 'Line of the file (0: the file as a whole).' }),
    message: Type.String(),
    record: Nullable(Type.String({ description: 'The record at fault, when known.' })),
  },
  { title: 'FileError', description: 'A problem that keeps a zone file from loading.' },
);

export const ZoneList = Type.Object(
  {
    zones: Type.Array(
      Type.Object(
        {
          name: Type.String({ description: 'Zone name, with the trailing dot.' }),
          serial: Type.Integer({ description: 'SOA serial.' }),
          etag: Type.String({ description: 'ETag for If-Match.' }),
          file: Type.String({ description: 'The file (cluster mode: the etcd key) it was loaded from.' }),
          format: Type.String({ description: '`yaml` (a zone document) or `master` (an RFC 1035 master file).' }),
          records: Type.Integer({ description: 'Records in the zone.' }),
          policies: Type.Integer({ description: 'Policy records in the zone.' }),
          dnssec: Type.Object(
            {
              signed: Type.Boolean({ description: 'Answers to DO=1 queries are signed (docs/dnssec.md).' }),
              keys: Type.Array(Type.Integer(), { description: 'Tags of the keys in its DNSKEY RRset; the first signs.' }),
            },
            { description: "The zone's DNSSEC state; details at /v1/zones/{zone}/dnssec." },
          ),
        },
        { title: 'ZoneSummary' },
      ),
    ),
    files: Type.Array(
      Type.Object(
        {
          file: Type.String({ description: 'File path (cluster mode: etcd key).' }),
          zone: Nullable(Type.String({ description: 'The zone it serves, if any version of it ever loaded.' })),
          serial: Nullable(Type.Integer()),
          loaded_at: Nullable(Type.String({ description: 'When it last loaded (ISO 8601).' })),
          errors: Type.Array(FileError),
        },
        { title: 'ZoneFile', description: 'A file of the zones directory, with the problems that keep it from loading.' },
      ),
    ),
  },
  { title: 'ZoneList' },
);

export const WriteResult = Type.Object(
  { name: Type.String({ description: 'The zone name.' }), serial: Type.Integer({ description: 'The new SOA serial.' }) },
  { title: 'ZoneWriteResult', description: 'The zone written and its new serial; the ETag header has its new ETag.' },
);

// ---- DNSSEC ------------------------------------------------------------------------------------

export const DnssecKey = Type.Object(
  {
    tag: Type.Integer({ description: 'Key tag (RFC 4034 Appendix B).' }),
    algorithm: Type.Integer({ description: 'DNSSEC algorithm number (13 ECDSA P-256, 15 Ed25519).' }),
    algorithm_name: Type.String(),
    flags: Type.Integer({ description: 'DNSKEY flags: 257 for a combined signing key.' }),
    role: Type.Literal('csk'),
    state: Type.Union([Type.Literal('published'), Type.Literal('active'), Type.Literal('retiring')], {
      description: '`active` signs the data; `published` is in the DNSKEY RRset, signing later; `retiring` stays published until the rollover completes.',
    }),
    created: Type.String(),
    activate_at: Type.String({ description: 'When the key signs (or signed) from.' }),
    dnskey: Type.String({ description: 'The DNSKEY record, presentation form.' }),
    ds: Type.String({ description: 'The DS record (SHA-256, RFC 4509) for this key, presentation form.' }),
  },
  { title: 'DnssecKey', additionalProperties: false },
);

export const DnssecStatusSchema = Type.Object(
  {
    zone: Type.String(),
    signed: Type.Boolean({ description: 'Answers to DO=1 queries carry RRSIGs.' }),
    source: Type.Union([Type.Literal('document'), Type.Literal('api'), Type.Null()], {
      description: "Why it is signed: the zone document's `dnssec:` block, or the API; null when unsigned.",
    }),
    algorithm: Type.Union([Type.String(), Type.Null()]),
    dnskey_ttl: Type.Union([Type.Integer(), Type.Null()], { description: 'TTL of DNSKEY, CDS and CDNSKEY, in seconds.' }),
    keys: Type.Array(DnssecKey),
    ds: Type.Array(Type.String(), { description: 'The DS records the parent should hold now, presentation form.' }),
    rollover: Type.Union([
      Type.Object(
        {
          started: Type.String(),
          old_tag: Type.Integer(),
          new_tag: Type.Integer(),
          activate_at: Type.String({ description: 'When the new key starts signing.' }),
          complete_after: Type.String({ description: 'Earliest time the rollover may be completed (the old key withdrawn).' }),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    problem: Type.Union([Type.String(), Type.Null()], { description: 'Why a zone that asks to be signed is not.' }),
  },
  { title: 'DnssecStatus', description: "A zone's signing state. Private keys are never shown.", additionalProperties: false },
);

// ---- health and regions (views still growing: open) ------------------------------------------

export const Vote = Type.Object(
  {
    checker: Type.String({ description: 'Region of the checker that voted.' }),
    by: Type.Optional(Type.String({ description: 'Cluster mode: the process that cast it.' })),
    up: Type.Boolean(),
    rtt_ms: Type.Number({ description: 'How long the check took, in milliseconds.' }),
    reason: Type.String(),
    age_ms: Type.Number({ description: 'Milliseconds since the check was made.' }),
    fresh: Type.Boolean({ description: 'Young enough to count.' }),
    smoothed_rtt_ms: Nullable(
      Type.Number({ description: "The EWMA of this checker region's up-vote RTTs to the endpoint (latency `rtt_from: probes`); null when none is fresh." }),
    ),
    weight: Type.Optional(Type.Number({ minimum: 0, description: 'The weight the target reported in this vote (a check with `weight_from`).' })),
    rttMs: Type.Number(renamed('rtt_ms')),
    ageMs: Type.Number(renamed('age_ms')),
  },
  { title: 'Vote', ...open },
);

export const EndpointHealth = Type.Object(
  {
    endpoint: Type.String({ description: 'Endpoint key `pool/id`.' }),
    pool: Type.String(),
    region: Type.String(),
    address: Type.String(),
    check: Nullable(Type.String()),
    state: Type.String({ description: '`up`, `down` or `unknown`.' }),
    quorum: Type.Union([Type.String(), Type.Number()]),
    stale_after_ms: Type.Number({ description: 'A vote older than this (milliseconds) no longer counts.' }),
    staleAfterMs: Type.Number(renamed('stale_after_ms')),
    weight: Type.Number({ minimum: 0, description: 'The configured weight.' }),
    reported_weight: Nullable(
      Type.Number({ minimum: 0, description: 'The weight the target reports in the newest fresh vote that carries one (`weight_from`); null when none.' }),
    ),
    effective_weight: Type.Number({ minimum: 0, description: 'The weight policies use: `reported_weight` while there is one, else `weight`.' }),
    votes: Type.Array(Vote),
  },
  { title: 'EndpointHealth', ...open },
);

export const HealthReport = Type.Object(
  {
    endpoints: Type.Array(EndpointHealth),
    transitions: Type.Array(
      Type.Object(
        {
          at: Type.String({ description: 'When (ISO 8601).' }),
          endpoint: Type.String(),
          region: Type.String(),
          from: Type.String(),
          to: Type.String(),
          reason: Type.String(),
        },
        { title: 'HealthTransition', ...open },
      ),
      { description: "Recent changes of an endpoint's view, newest first." },
    ),
  },
  { title: 'HealthReport' },
);

const RegionOverride = Nullable(
  Type.Object({ kind: Type.String(), reason: Type.Optional(Type.String()), by: Type.Optional(Type.String()), expires_at: Type.Optional(Type.String()) }, open),
);

/**
 * A region with its derived status (admin/health-routes.ts `regionStatuses`); the words and
 * counts are health/status-schema.ts's, which health/status.ts derives (docs/health.md, "Region
 * states").
 */
const regionStatusProps = {
  id: Type.String(),
  name: Type.String(),
  country: Type.String(),
  continent: Type.String(),
  location: Type.Object({ lat: Type.Number(), lon: Type.Number() }),
  status: RegionStatusWord,
  endpoints: Type.Object(RegionCountsSchema.properties, { description: 'Endpoint counts.', ...open }),
  endpoint_statuses: EndpointStatusCounts,
  weight: Type.Object(
    { total: Type.Number({ minimum: 0 }), usable: Type.Number({ minimum: 0 }) },
    { description: 'Sum of the weights, of all endpoints and of the usable ones.', ...open },
  ),
  override: RegionOverride,
};

export const RegionList = Type.Object(
  {
    regions: Type.Array(
      Type.Object(
        {
          ...regionStatusProps,
          members: Type.Array(Type.Object({ ...MemberSchema.properties, votes: Type.Array(Vote) }, { title: 'RegionMember', ...open })),
        },
        { title: 'RegionStatus', ...open },
      ),
    ),
  },
  { title: 'RegionList' },
);

export const RegionView = Type.Object(
  { ...regionStatusProps, zones: Type.Array(Type.String(), { description: 'The zones that define it.' }) },
  { title: 'RegionView', ...open },
);

export const MemberRecord = Type.Object(
  {
    id: Type.String(),
    kind: Type.String({ description: '`node` or `checker`.' }),
    region: Type.String(),
    dns: Nullable(Type.String()),
    admin: Nullable(Type.String()),
    version: Type.String(),
    revision: Type.Integer({ description: 'The configuration revision it serves.' }),
    active_checker: Type.Boolean(),
    started_at: Type.String(),
    seen_at: Type.String(),
  },
  { title: 'Member', ...open },
);

export const NodeView = Type.Object(
  {
    ...MemberRecord.properties,
    last_seen_ms_ago: Type.Number(),
    lag: Type.Integer({ description: 'Revisions behind the most current member.' }),
    self: Type.Boolean(),
  },
  { title: 'NodeView', ...open },
);

export const RegionDetail = Type.Object(
  {
    ...regionStatusProps,
    endpoints_detail: Type.Array(Type.Object({ ...EndpointDetailSchema.properties, votes: Type.Array(Vote) }, { title: 'RegionEndpoint', ...open })),
    nodes: Type.Array(NodeView),
  },
  { title: 'RegionDetail', ...open },
);

export const NodeList = Type.Object(
  {
    mode: Type.String({ description: '`cluster` or `single`.' }),
    etcd: Nullable(Type.String({ description: '`reachable` or `unreachable`; null on a single node.' })),
    active_checkers: Type.Record(Type.String(), Type.Object({ id: Type.String(), since: Type.String() }, open), {
      description: 'Region → its active checker.',
    }),
    nodes: Type.Array(NodeView),
  },
  { title: 'NodeList' },
);

export const VotesAccepted = Type.Object(
  { accepted: Type.Integer({ description: 'Votes taken (a checker votes for its own region only).' }) },
  { title: 'VotesAccepted' },
);

// ---- overrides and audit ---------------------------------------------------------------------

export const OverrideView = Type.Object(
  {
    id: Type.String({ description: '`endpoint:pool/id` or `region:id`.' }),
    kind: Type.String({ description: '`drain`, `force_up` or `force_down`.' }),
    reason: Type.Optional(Type.String()),
    by: Type.Optional(Type.String({ description: 'Who set it.' })),
    expires_at: Nullable(Type.String({ description: 'When it lifts by itself (ISO 8601).' })),
    set_at: Nullable(Type.String()),
  },
  { title: 'Override', ...open },
);

export const OverrideList = Type.Object({ overrides: Type.Array(OverrideView) }, { title: 'OverrideList' });

export const AuditEntry = Type.Object(
  {
    at: Type.String(),
    who: Type.String({ description: "The token's name (`local` for the node's own write token)." }),
    action: Type.String({ description: '`zone.create`, `record.replace`, `override.set`, ...' }),
    target: Type.String(),
    before: Nullable(Type.String()),
    after: Nullable(Type.String()),
    detail: Type.Optional(Type.Unknown({ description: 'What else the change recorded.' })),
    node: Type.Optional(Type.String({ description: 'Cluster mode: the node that took the change.' })),
  },
  { title: 'AuditEntry', ...open },
);

export const AuditList = Type.Object({ entries: Type.Array(AuditEntry) }, { title: 'AuditList' });

// ---- the simulator ---------------------------------------------------------------------------

/** A record as dig prints it (presentation form, RFC 1035 §5.1). */
const SimRecord = Type.Object(
  {
    name: Type.String({ description: 'Owner name, absolute (trailing dot), e.g. `www.example.net.`.' }),
    ttl: Type.Integer({ minimum: 0, description: 'TTL in seconds.' }),
    class: Type.String({ description: 'Class mnemonic: `IN` (the only class served), or `CLASSnnn` (RFC 3597 §5).' }),
    type: Type.String({ description: 'Type mnemonic (`A`, `HTTPS`…), or `TYPEnnn` for a type without one (RFC 3597 §5).' }),
    data: Type.String({
      description:
        'RDATA in presentation form, as dig prints it (`10 mail.example.net.`, `1 . alpn="h2"`), or `\\# LEN HEX` (RFC 3597 §5) for a type without a text format.',
    }),
  },
  { title: 'SimulatedRecord', ...open },
);

export const Simulation = Type.Object(
  {
    question: Type.Object(
      {
        name: Type.String({ description: 'The name asked for, as given.' }),
        type: Type.String({ description: 'The type asked for, as its mnemonic (`type=TYPE65` shows `HTTPS`), or `TYPEnnn`.' }),
        client: Type.String(),
        as: Type.String({ description: '`ecs` or `source address`.' }),
      },
      open,
    ),
    answer: Type.Object(
      {
        rcode: Type.String({ description: 'Rcode mnemonic (`NOERROR`, `NXDOMAIN`, `REFUSED`…), or `RCODEnnn` for one without.' }),
        aa: Type.Boolean(),
        records: Type.Array(SimRecord, { description: 'The answer section.' }),
        authority: Type.Array(SimRecord, { description: 'The authority section (SOA of a negative answer, NS of a referral).' }),
        additional: Type.Array(SimRecord, { description: 'The additional section, without the OPT record (glue, addresses of MX/SRV targets).' }),
        ecs_scope: Nullable(
          Type.Integer({
            description: "The scope prefix of the answer's Client Subnet option (RFC 7871 §7.2.1); null when the client was sent as the source address.",
          }),
        ),
      },
      open,
    ),
    explanation: Type.Object(
      {
        policy_record: Nullable(Type.Object({ name: Type.String(), ttl: Type.Number(), on_all_down: Type.String() }, open)),
        geolocation: Nullable(Type.Object({}, open)),
        geo_database: Type.Object(
          {
            kind: Type.String({ description: '`file` (serve --geoip-db) or `embedded` (geoip-lite).' }),
            name: Type.String({ description: 'The file, or `geoip-lite VERSION`.' }),
            type: Type.String({ description: 'The MaxMind DB database_type (`GeoIP2-City`…).' }),
            built_at: Nullable(Type.String({ description: 'When the data was built (ISO 8601).' })),
          },
          { description: 'The geolocation database that answered (the one in force now).', ...open },
        ),
        path: Type.Array(Type.Object({ at: Type.String(), note: Type.String() }, open)),
        chosen: Type.Array(Type.Object({ endpoint: Type.String(), value: Type.String(), region: Type.String() }, open)),
        all_down_fallback: Type.Boolean(),
        decision_scope: Type.Number(),
        what_if: Nullable(Type.Record(Type.String(), Type.Array(Type.String()))),
        dnssec: Type.Object(
          {
            signed: Type.Boolean({ description: 'The zone is signed: a DO=1 query gets this answer with RRSIGs.' }),
            key_tag: Nullable(Type.Integer({ description: 'The key that signs it.' })),
            algorithm: Nullable(Type.Integer()),
            asked: Type.Boolean({ description: 'The simulated query had DO=1 (`dnssec=true`).' }),
            note: Type.String(),
          },
          open,
        ),
      },
      open,
    ),
  },
  { title: 'Simulation' },
);

// ---- drills (still growing: open) ------------------------------------------------------------

const DrillTarget = Type.Object(
  { region: Type.Optional(Type.String()), endpoints: Type.Optional(Type.Array(Type.String({ description: '`pool/id`' }))) },
  { title: 'DrillTarget', ...open },
);
const Answer = Type.Array(Type.String(), { description: 'The answer in presentation form, sorted: its addresses, or the one CNAME target.' });
const Candidate = Type.Object(
  {
    answer: Answer,
    share: Type.Number({ minimum: 0, maximum: 1, description: 'The share of queries from this vantage point that get it.' }),
    regions: Type.Array(Type.String(), { description: 'Regions of its endpoints.' }),
    all_down: Type.Boolean({ description: 'It comes from `on_all_down` (nothing usable).' }),
  },
  { title: 'DrillCandidate', ...open },
);
const SafetyCheck = Type.Object(
  {
    rule: Type.String({
      description: '`answers`, `min_healthy_regions`; in a report also `converged`, `no_client_without_answer`, `traffic_returned`, `predictions`.',
    }),
    pass: Type.Boolean(),
    detail: Type.String(),
  },
  { title: 'DrillCheck', ...open },
);
const Capacity = Type.Object(
  { region: Type.String(), usable_before: Type.Integer(), usable_after: Type.Integer(), weight_before: Type.Number(), weight_after: Type.Number() },
  { title: 'DrillCapacity', ...open },
);

export const DrillPreview = Type.Object(
  {
    target: DrillTarget,
    passed: Type.Boolean({ description: 'Every safety rule passes: a live drill would start.' }),
    vantage_points: Type.Array(Type.Object({ country: Type.String(), subnet: Type.String() }, open)),
    records: Type.Array(
      Type.Object(
        {
          zone: Type.String(),
          name: Type.String(),
          type: Type.String(),
          vantage: Type.Array(
            Type.Object(
              {
                country: Type.String(),
                subnet: Type.String(),
                before: Type.Array(Candidate, { description: 'Candidate answers now, with their shares.' }),
                after: Type.Array(Candidate, { description: 'Candidate answers with the target out.' }),
                exact: Type.Boolean({ description: 'False when the shares were sampled (a tree with too many choices).' }),
                changed: Type.Boolean({ description: 'A candidate appears or goes, or a share moves.' }),
                moved_share: Type.Number({ minimum: 0, maximum: 1, description: "The share of this record's queries from here that get another answer." }),
                moves_from: Type.Array(Type.Object({ answer: Answer, share: Type.Number() }, open)),
                moves_to: Type.Array(Type.Object({ answer: Answer, share: Type.Number(), regions: Type.Array(Type.String()) }, open)),
                to_regions: Type.Array(Type.String()),
                all_down: Type.Boolean(),
              },
              { title: 'DrillVantageImpact', ...open },
            ),
          ),
        },
        { title: 'DrillRecordImpact', ...open },
      ),
    ),
    capacity: Type.Array(Capacity),
    safety: Type.Array(SafetyCheck),
    changed_answers: Type.Integer({ description: 'Record × vantage point pairs whose candidates or shares change.' }),
  },
  { title: 'DrillPreview', ...open },
);

export const DrillReport = Type.Object(
  {
    id: Type.String(),
    state: Type.Union(['running', 'restoring', 'done', 'aborted', 'refused'].map((w) => Type.Literal(w))),
    target: DrillTarget,
    reason: Type.String(),
    by: Type.String(),
    duration_s: Type.Number(),
    min_healthy_regions: Type.Integer(),
    started_at: Type.String(),
    ends_at: Type.String(),
    finished_at: Nullable(Type.String()),
    timeline: Type.Array(Type.Object({ at: Type.String(), event: Type.String(), detail: Type.Optional(Type.String()) }, open)),
    nodes: Type.Array(Type.Object({ node: Type.String(), drained_after_ms: Nullable(Type.Number()), restored_after_ms: Nullable(Type.Number()) }, open)),
    observations: Type.Array(
      Type.Object(
        {
          name: Type.String(),
          type: Type.String(),
          country: Type.String(),
          subnet: Type.String(),
          before: Type.Array(Candidate),
          predicted: Type.Array(Candidate),
          observed: Type.Array(Type.Object({ answer: Answer, count: Type.Integer(), share: Type.Number() }, open)),
          samples: Type.Integer(),
          matches_prediction: Nullable(Type.Boolean()),
          detail: Type.Optional(Type.String()),
          nodes: Type.Array(Type.Object({ node: Type.String(), samples: Type.Integer(), unexpected: Type.Integer(), shares_checked: Type.Boolean() }, open)),
          gone_after_ms: Nullable(Type.Number()),
          back_after_ms: Nullable(Type.Number()),
        },
        { title: 'DrillObservation', ...open },
      ),
    ),
    violations: Type.Array(
      Type.Object(
        {
          node: Type.String(),
          name: Type.String(),
          type: Type.String(),
          country: Type.String(),
          subnet: Type.String(),
          answer: Answer,
          at_ms: Type.Number(),
          why: Type.String(),
        },
        { title: 'DrillViolation', ...open },
      ),
      { description: 'Answers that were not predicted (the first ones).' },
    ),
    empty_or_servfail: Type.Integer(),
    checks: Type.Array(SafetyCheck),
    preview: Type.Object({ capacity: Type.Array(Capacity), safety: Type.Array(SafetyCheck), changed_answers: Type.Integer() }, open),
  },
  { title: 'DrillReport', ...open },
);

export const DrillList = Type.Object({ drills: Type.Array(DrillReport) }, { title: 'DrillList' });

// ---- what the serializer sees ----------------------------------------------------------------

const views = new WeakMap<object, unknown>();

/**
 * The schema fast-json-stringify serializes with, made from a documented one: a union (`anyOf`,
 * `oneOf`: a Duration, a nullable field, a plain-or-policy record) becomes `{}`, serialized as
 * JSON.stringify would, and a `oneOf` over `required` lists beside an object's properties (a
 * validation rule, no help in writing) goes. fast-json-stringify settles a union by running
 * ajv on the value, and compiles that validator on a route's first response (half a second for
 * a zone document on a busy machine); this way no response waits for ajv, and nothing of a
 * union's value can be lost. What a union holds is still checked, against the documented
 * schema, by admin/response-check.ts.
 */
export function serializationView(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(serializationView);
  if (schema === null || typeof schema !== 'object') return schema;
  const cached = views.get(schema);
  if (cached !== undefined) return cached;
  const s = schema as Record<string, unknown>;
  let out: Record<string, unknown>;
  const union =
    (Array.isArray(s['anyOf']) || Array.isArray(s['oneOf'])) &&
    !(
      s['type'] === 'object' &&
      s['properties'] &&
      (s['oneOf'] as Record<string, unknown>[] | undefined)?.every((b) => Object.keys(b).every((k) => k === 'required'))
    );
  if (union) {
    out = typeof s['description'] === 'string' ? { description: s['description'] } : {};
  } else {
    out = {};
    for (const [k, v] of Object.entries(s)) {
      if (k === 'x-error' || (k === 'oneOf' && s['type'] === 'object')) continue;
      if ((k === 'properties' || k === 'patternProperties') && v && typeof v === 'object')
        out[k] = Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, serializationView(sub)]));
      else if (k === 'items' || k === 'additionalProperties' || k === 'schema') out[k] = serializationView(v);
      else out[k] = v;
    }
    // A content map (`{ 'text/dns': { schema } }`) keeps its media types.
    if (s['content'] && typeof s['content'] === 'object')
      out['content'] = Object.fromEntries(Object.entries(s['content'] as Record<string, unknown>).map(([m, media]) => [m, serializationView(media)]));
  }
  views.set(schema, out);
  return out;
}
