/**
 * @module zone/export
 * A zone as a document (the YAML/JSON shape of model/zone-schema.ts) and as an RFC 1035 master
 * file. The admin API reads and edits zones as documents. A YAML zone's document is its file,
 * parsed. A master-file zone's document is made from its records, with every name absolute
 * and every RDATA in presentation form, so that loading it again gives the same zone.
 * A master-file zone written through the API is kept as a master file: {@link toManagedMasterFile}
 * is the text it gets (docs/zones.md, "Master files stay master files").
 */
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { keyToPresentation } from '../proto/name.js';
import { RRType, typeToName } from '../proto/types.js';
import { DEFAULT_TRANSFER_ALLOW, type Zone } from './zone.js';
import { formatRdata, soaFields } from '../proto/rdata.js';
import type { ZoneDocument } from '../model/zone-schema.js';

/** The document of a zone: its YAML file parsed, or one made from a master file's records. */
export function documentOf(zone: Zone, text: string, kind: 'yaml' | 'master'): ZoneDocument {
  if (kind === 'yaml') return parseYaml(text) as ZoneDocument;
  const soa = soaFields(zone.soa.rdatas[0]!);
  const apexNs = zone.nodes.get(zone.origin)?.rrsets.get(RRType.NS);
  const doc: ZoneDocument = {
    zone: keyToPresentation(zone.origin),
    ttl: apexNs?.ttlSeconds ?? zone.soa.ttlSeconds,
    soa: {
      mname: keyToPresentation(soa.mname),
      rname: keyToPresentation(soa.rname),
      serial: soa.serial,
      refresh: soa.refresh,
      retry: soa.retry,
      expire: soa.expire,
      minimum: soa.minimum,
      ttl: zone.soa.ttlSeconds,
    },
    ns: (apexNs?.rdatas ?? []).map((r) => formatRdata(RRType.NS, r)),
    records: [],
  };
  const allow = zone.transferAllow;
  if (allow.length !== DEFAULT_TRANSFER_ALLOW.length || allow.some((a, i) => a !== DEFAULT_TRANSFER_ALLOW[i])) doc.transfer = { allow: [...allow] };
  for (const set of zone.rrsets) {
    if (set.type === RRType.SOA && set.owner === zone.origin) continue;
    if (set.type === RRType.NS && set.owner === zone.origin) continue;
    doc.records!.push({
      name: keyToPresentation(set.owner),
      type: typeToName(set.type),
      ttl: set.ttlSeconds,
      values: set.rdatas.map((r) => formatRdata(set.type, r)),
    });
  }
  return doc;
}

/** A document as YAML text, the form the zones directory keeps. */
export function documentToYaml(doc: ZoneDocument): string {
  return `# Written by the Meridian admin API at ${new Date().toISOString()}.\n${stringifyYaml(doc, { lineWidth: 0 })}`;
}

/**
 * A zone as an RFC 1035 master file. Policy records have no RFC 1035 form; they are listed as
 * comments, with the answer a client with no location would get, so the file still loads
 * anywhere and says what is missing.
 */
export function toMasterFile(zone: Zone, policyAnswers: ReadonlyMap<string, string[]> = new Map()): string {
  const lines = [`; ${keyToPresentation(zone.origin)} exported by Meridian at ${new Date().toISOString()}`, `$ORIGIN ${keyToPresentation(zone.origin)}`];
  for (const set of zone.rrsets) {
    for (const r of set.rdatas) lines.push(`${keyToPresentation(set.owner)}\t${set.ttlSeconds}\tIN\t${typeToName(set.type)}\t${formatRdata(set.type, r)}`);
  }
  for (const rec of zone.policies?.records ?? []) {
    lines.push(
      `; policy record ${keyToPresentation(rec.owner)} ${typeToName(rec.rrtype)} (ttl ${rec.ttlSeconds}): chosen per query by Meridian; now ${(policyAnswers.get(`${rec.owner}|${rec.rrtype}`) ?? []).join(' ') || 'no answer'}`,
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * The comment block that opens a master file the admin API wrote. No timestamp: a zone kept in
 * git changes only where its records (and serial) do.
 */
export const MANAGED_MASTER_HEADER = [
  '; Managed by Meridian: edits through the admin API rewrite this file as an RFC 1035 master file.',
  '; Records, TTLs and the SOA are kept; comments below this block are not. (docs/zones.md)',
].join('\n');

/**
 * A plain-records zone as the master file the admin API keeps it in: the managed header,
 * `$ORIGIN` before the first record (so it loads from any file name or etcd key), then every
 * RRset, SOA first, with absolute owners and explicit TTLs (RFC 1035 §5.1). Loading it gives the
 * same RRsets; rendering that again gives the same text.
 */
export function toManagedMasterFile(zone: Zone): string {
  const lines = [MANAGED_MASTER_HEADER, `$ORIGIN ${keyToPresentation(zone.origin)}`];
  for (const set of zone.rrsets) {
    for (const r of set.rdatas) lines.push(`${keyToPresentation(set.owner)}\t${set.ttlSeconds}\tIN\t${typeToName(set.type)}\t${formatRdata(set.type, r)}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * What a zone document holds that an RFC 1035 master file cannot: regions, pools, policy
 * records, latency rows, health checks, or a transfer ACL other than the default. Empty when
 * the document is plain records only.
 */
export function beyondMasterFile(doc: ZoneDocument): string[] {
  const out: string[] = [];
  for (const f of ['regions', 'pools', 'policies', 'latency', 'checks'] as const) if ((doc[f]?.length ?? 0) > 0) out.push(f);
  // A master-file zone is signed through the API instead (`meridian ctl dnssec enable`, docs/dnssec.md).
  if (doc.dnssec) out.push('dnssec');
  const allow = doc.transfer?.allow;
  if (allow !== undefined && (allow.length !== DEFAULT_TRANSFER_ALLOW.length || allow.some((a, i) => a !== DEFAULT_TRANSFER_ALLOW[i])))
    out.push('transfer.allow');
  return out;
}

/** The records of a zone as sorted `owner ttl type rdata` lines: equal for zones that answer the same. */
export function recordLines(zone: Zone): string[] {
  return zone.rrsets.flatMap((set) => set.rdatas.map((r) => `${set.owner} ${set.ttlSeconds} ${set.type} ${formatRdata(set.type, r)}`)).sort();
}
