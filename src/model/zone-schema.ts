/**
 * @module model/zone-schema
 * The shape of a Meridian YAML zone document, as TypeBox (JSON Schema) schemas, assembled from
 * the policy schemas (policy/schema.ts) and the check schema (checks/schema.ts); values are checked
 * against them, and the failures put into words, by validation/validate.ts.
 *
 * zone/yaml-zone.ts validates every `*.yaml` zone file with {@link validateZoneDocument}; the
 * admin API will validate request bodies with the same schemas, and the schemas are kept plain
 * (no `$ref`, no `$id`, a `description` on every property) so that they can become an OpenAPI
 * description as they are.
 *
 * The schemas check shape and ranges only. What needs DNS knowledge (names, record types, RDATA,
 * address lists, the value of a duration string) is checked by zone/yaml-zone.ts afterwards.
 * Schemas may carry the `x-error` extension keyword (see validation/validate.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Duration, MAX_U32 } from '../validation/duration.js';
import { validateAgainst, type SchemaProblem } from '../validation/validate.js';
import { LatencyRowEntry, PolicyRecordEntry, PoolEntry, RegionEntry } from '../policy/schema.js';
import { CheckEntry } from '../checks/schema.js';

/**
 * A domain name in presentation form: relative to the zone, `@` for the apex, or absolute with a
 * trailing dot. Each name-valued property gets its own copy so that it can carry its own description.
 */
export function DomainName(description: string) {
  return Type.String({
    minLength: 1,
    title: 'DomainName',
    description: `${description} Master-file presentation form (RFC 1035 §5.1): relative to the zone origin, \`@\` for the origin itself, or absolute with a trailing dot; \`\\.\` and \`\\DDD\` escapes are allowed.`,
  });
}

/** The zone's SOA record (RFC 1035 §3.3.13), always owned by the zone apex. */
export const SoaFields = Type.Object(
  {
    mname: DomainName('MNAME: the primary name server.'),
    rname: DomainName('RNAME: the mailbox of the person responsible, with the `@` written as a dot (`hostmaster.example.org.`).'),
    serial: Type.Integer({ minimum: 0, maximum: MAX_U32, description: `SERIAL: the zone version, 0 to ${MAX_U32} (RFC 1982 serial arithmetic).` }),
    refresh: Duration('REFRESH: how often secondaries check the serial.', MAX_U32),
    retry: Duration('RETRY: how long a secondary waits after a failed refresh.', MAX_U32),
    expire: Duration('EXPIRE: how long a secondary keeps serving without a successful refresh.', MAX_U32),
    minimum: Duration('MINIMUM: the TTL of negative answers (NXDOMAIN, NODATA), RFC 2308 §4; the SOA TTL caps it (RFC 2308 §5).', MAX_U32),
    ttl: Type.Optional(Duration('TTL of the SOA record itself. Default: the zone `ttl`.')),
  },
  { title: 'SoaFields', description: 'The SOA record at the zone apex (RFC 1035 §3.3.13).', additionalProperties: false },
);
export type SoaFields = Static<typeof SoaFields>;

/** Zone transfer (AXFR, RFC 5936) settings. */
export const TransferSettings = Type.Object(
  {
    allow: Type.Optional(
      Type.Array(Type.String({ minLength: 1, description: 'An IPv4 or IPv6 address, or a CIDR block (`192.0.2.0/24`, `2001:db8::/32`).' }), {
        description: 'Clients that may AXFR the zone. Omitted: loopback only (`127.0.0.0/8`, `::1/128`). An empty list: nobody.',
      }),
    ),
  },
  { title: 'TransferSettings', description: 'Zone transfer (AXFR, RFC 5936) access.', additionalProperties: false },
);
export type TransferSettings = Static<typeof TransferSettings>;

/** Online DNSSEC signing of the zone (docs/dnssec.md). `dnssec: {}` signs with the defaults. */
export const DnssecSettings = Type.Object(
  {
    algorithm: Type.Optional(
      Type.Union([Type.Literal('ecdsap256sha256'), Type.Literal('ed25519')], {
        description: 'The signing algorithm: `ecdsap256sha256` (13, RFC 6605; the default) or `ed25519` (15, RFC 8080).',
      }),
    ),
    dnskey_ttl: Type.Optional(Duration("TTL of the DNSKEY, CDS and CDNSKEY RRsets. Default: the SOA's TTL. Key rollovers wait this long (docs/dnssec.md).")),
  },
  {
    title: 'DnssecSettings',
    description: 'Sign every answer of the zone online (RFC 4035), with compact denial (RFC 9824). Keys are generated and kept by Meridian.',
    additionalProperties: false,
  },
);
export type DnssecSettings = Static<typeof DnssecSettings>;

/** One RRset's worth of plain records: an owner, a type, and one or more RDATA strings. */
export const RecordEntry = Type.Object(
  {
    name: DomainName('Owner name (`www`, `*.edge`, `@`, `host.example.org.`).'),
    type: Type.String({ minLength: 1, description: 'Record type mnemonic (`A`, `AAAA`, `MX`, ...) or `TYPEnnn` (RFC 3597).' }),
    ttl: Type.Optional(Duration('TTL of these records. Default: the zone `ttl`.')),
    value: Type.Optional(
      Type.String({
        description: 'One record\'s RDATA in RFC 1035 presentation form (`192.0.2.1`, `10 mail`, `"v=spf1 -all"`). Give `value` or `values`, not both.',
      }),
    ),
    values: Type.Optional(
      Type.Array(Type.String({ description: "One record's RDATA in RFC 1035 presentation form." }), {
        minItems: 1,
        description: 'Several records of the same owner and type, one RDATA string each. Give `value` or `values`, not both.',
      }),
    ),
  },
  {
    title: 'RecordEntry',
    description: 'Plain records of one owner and type. Exactly one of `value` and `values` is required.',
    additionalProperties: false,
    oneOf: [{ required: ['value'] }, { required: ['values'] }],
    'x-error': 'must have exactly one of "value" (one RDATA string) or "values" (a list of them)',
  },
);
export type RecordEntry = Static<typeof RecordEntry>;

/** A whole Meridian YAML zone file. */
export const ZoneDocument = Type.Object(
  {
    zone: Type.String({ minLength: 1, description: 'The zone origin, always absolute; the trailing dot is optional (`gslb.example.org`).' }),
    ttl: Type.Optional(Duration('Default TTL for records that give none. Default: 3600.')),
    soa: SoaFields,
    ns: Type.Array(DomainName('A name server of the zone.'), {
      minItems: 1,
      description: "The apex NS RRset: the zone's name servers. At least one.",
    }),
    transfer: Type.Optional(TransferSettings),
    dnssec: Type.Optional(DnssecSettings),
    records: Type.Optional(Type.Array(RecordEntry, { description: 'Plain records (RRsets) of the zone.' })),
    regions: Type.Optional(Type.Array(RegionEntry, { description: 'Regions: where capacity lives.' })),
    pools: Type.Optional(Type.Array(PoolEntry, { description: 'Pools of endpoints that policy records answer from.' })),
    policies: Type.Optional(Type.Array(PolicyRecordEntry, { description: 'Policy records: names answered per query by a policy tree.' })),
    latency: Type.Optional(Type.Array(LatencyRowEntry, { description: 'Latency table rows for the latency policy.' })),
    checks: Type.Optional(Type.Array(CheckEntry, { description: 'Health checks that pools and endpoints refer to (docs/health.md).' })),
  },
  {
    title: 'ZoneDocument',
    description: 'A Meridian zone: origin, SOA, apex NS, transfer ACL, records, and the regions, pools and policy records of load balancing.',
    additionalProperties: false,
  },
);
export type ZoneDocument = Static<typeof ZoneDocument>;

/** Checks a parsed YAML zone document against {@link ZoneDocument}. */
export function validateZoneDocument(data: unknown): SchemaProblem[] {
  return validateAgainst(ZoneDocument, data);
}
