/**
 * @module cli/cluster
 * `meridian cluster import|export|nodes`: moves a cluster's configuration between a zones
 * directory and etcd (the key layout is in cluster/layout.ts), and lists its members.
 *
 * import checks every file first, exactly as `meridian check` does, and writes nothing if any
 * file has a problem. It then writes every zone (and the latency table, if given) in one etcd
 * transaction, which also compares each zone it replaces against the revision it read: a change
 * made through the API meanwhile makes the import fail instead of being overwritten.
 *
 * export writes each zone's text with a first comment line naming the ETag it was read at
 * (zone/etag-line.ts); import strips it, and replaces a zone without --replace when the file is
 * an edit of exactly what etcd holds (same ETag), refusing it when etcd changed since.
 */
import fs from 'node:fs';
import path from 'node:path';
import { keyToPresentation } from '../proto/name.js';
import { checkZoneDir } from '../state/file-source.js';
import { writeFileAtomic } from '../state/atomic.js';
import { parseLatencyFile } from '../state/latency-file.js';
import { etagOf, serialGreater } from '../state/zone-store.js';
import { splitEtagLine, withEtagLine } from '../zone/etag-line.js';
import { EtcdClient, type Compare, type TxnOp } from '../cluster/etcd-client.js';
import { KeyLayout, loadZoneKey, sniffZoneKind, zoneSuffix } from '../cluster/layout.js';
import { silentLogger } from '../log.js';
import { etcdConnectionFrom } from './etcd-options.js';
import { flag, renderCommandHelp, resolveOptions, usageError, type OptionSpec } from './options.js';
import { ETCD_CONNECTION_OPTIONS } from './serve-options.js';

/** The daemon's etcd connection options (same flags, defaults and variables), in this command's words. */
const ETCD_HELP: Record<string, string> = {
  etcd: "the etcd cluster's client URLs (http:// or https://)",
  'etcd-cert': 'client certificate (PEM), when etcd requires one (--client-cert-auth)',
  'etcd-user': 'an etcd user, for an etcd with auth enabled; the password comes from MERIDIAN_ETCD_PASSWORD',
};
const CLUSTER_ETCD_OPTIONS: readonly OptionSpec[] = ETCD_CONNECTION_OPTIONS.map(({ group: _group, ...s }) => ({ ...s, help: ETCD_HELP[s.name] ?? s.help }));

/** Every `meridian cluster` option: the etcd connection, and the flags of import and export (read from no variable). */
export const CLUSTER_OPTIONS: readonly OptionSpec[] = [
  ...CLUSTER_ETCD_OPTIONS,
  flag({ name: 'zones', type: 'string', arg: 'DIR', help: 'the zones directory to import from or export to' }),
  flag({ name: 'latency', type: 'string', arg: 'FILE', help: 'the latency table file to import or export' }),
  flag({ name: 'replace', type: 'boolean', help: 'import: replace zones in etcd that have other text' }),
  flag({ name: 'prune', type: 'boolean', help: 'import: delete zones in etcd that are not in DIR' }),
];

export const CLUSTER_HELP = renderCommandHelp(
  `Usage: meridian cluster <command> --etcd URL[,URL…] [options]

Commands:
  import --zones DIR [--latency FILE] [--replace] [--prune]
          check every zone file in DIR (nothing is written if any has a problem), then store them
          in etcd in one transaction. A zone already in etcd with other text is only replaced
          with --replace, or when the file is an edit of what etcd holds (its meridian-etag line,
          written by export, names the revision etcd is still at); --prune also deletes zones
          that are not in DIR.
  export --zones DIR [--latency FILE]
          write every zone in etcd to DIR as files (<zone>.yaml or <zone>.zone), each starting
          with a meridian-etag comment line, and the latency table to FILE
  nodes   list the nodes and checkers registered in etcd`,
  CLUSTER_ETCD_OPTIONS,
  `The --etcd options can also come from the environment, as for "meridian serve": MERIDIAN_ETCD,
MERIDIAN_ETCD_PREFIX, MERIDIAN_ETCD_CA, MERIDIAN_ETCD_CERT, MERIDIAN_ETCD_KEY, MERIDIAN_ETCD_USER.`,
);

export async function clusterCommand(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help') {
    out(CLUSTER_HELP);
    return sub === undefined ? 2 : 0;
  }
  const r = resolveOptions(CLUSTER_OPTIONS, rest, process.env, { config: false });
  if (r.help) {
    out(CLUSTER_HELP);
    return 0;
  }
  const values = {
    zones: r.values['zones'] as string | undefined,
    latency: r.values['latency'] as string | undefined,
    replace: r.values['replace'] === true,
    prune: r.values['prune'] === true,
  };
  if (!['import', 'export', 'nodes'].includes(sub)) throw usageError(`unknown cluster command "${sub}" (import, export, nodes)`);
  const etcd = etcdConnectionFrom(r);
  if (!etcd) throw usageError('--etcd is required');
  const layout = new KeyLayout(etcd.prefix);
  const client = new EtcdClient({ ...etcd, log: silentLogger(), timeoutMs: 5000 });
  try {
    if (sub === 'nodes') {
      const { kvs } = await client.range(layout.nodes, { prefix: true });
      for (const kv of kvs) {
        const m = JSON.parse(kv.value) as {
          id: string;
          kind: string;
          region: string;
          dns: string | null;
          admin: string | null;
          revision: number;
          active_checker: boolean;
          seen_at: string;
        };
        out(
          `${m.id}\t${m.kind}\t${m.region}\tdns=${m.dns ?? '-'}\tadmin=${m.admin ?? '-'}\trevision=${m.revision}${m.active_checker ? '\tactive-checker' : ''}\tseen=${m.seen_at}\n`,
        );
      }
      if (kvs.length === 0) out('no node is registered\n');
      return 0;
    }
    if (values.zones === undefined) throw usageError('--zones DIR is required');
    const dir = path.resolve(values.zones);
    return sub === 'import' ? await importZones(client, layout, dir, values, out) : await exportZones(client, layout, dir, values.latency, out);
  } finally {
    await client.close();
  }
}

async function importZones(
  client: EtcdClient,
  layout: KeyLayout,
  dir: string,
  o: { latency?: string | undefined; replace: boolean; prune: boolean },
  out: (s: string) => void,
): Promise<number> {
  const { zones, errors } = await checkZoneDir(dir);
  if (errors.length > 0) {
    for (const e of errors) out(`${e.format()} (${e.code})\n`);
    out(`nothing imported: ${errors.length} problem${errors.length === 1 ? '' : 's'}\n`);
    return 1;
  }
  let latencyText: string | undefined;
  if (o.latency !== undefined) {
    latencyText = fs.readFileSync(o.latency, 'utf8');
    try {
      parseLatencyFile(latencyText, o.latency);
    } catch (err) {
      out(`${(err as Error).message}\nnothing imported\n`);
      return 1;
    }
  }
  const { kvs } = await client.range(layout.zones, { prefix: true });
  const held = new Map(kvs.map((kv) => [kv.key, kv]));
  const compare: Compare[] = [];
  const ops: TxnOp[] = [];
  const lines: string[] = [];
  const refused: string[] = [];
  for (const zone of zones) {
    // A file that `cluster export` wrote starts with its meridian-etag line (zone/etag-line.ts):
    // stored without it, and it says which revision the file is an edit of.
    const { text, etag: readAt } = splitEtagLine(fs.readFileSync(zone.file, 'utf8'));
    const key = layout.zone(zone.origin);
    // The text must load from its key exactly as a node will load it.
    const check = loadZoneKey(key, text);
    if (!check.ok || check.zone.origin !== zone.origin) {
      refused.push(`${path.basename(zone.file)}: does not load from ${key} (a master file needs $ORIGIN before its first record)`);
      continue;
    }
    const now = held.get(key);
    const name = keyToPresentation(zone.origin);
    if (now && now.value === text) {
      lines.push(`unchanged ${name} (serial ${zone.serial})`);
      continue;
    }
    if (now && !o.replace) {
      const held = loadZoneKey(key, now.value);
      const heldEtag = held.ok ? etagOf(held.zone, now.value) : null;
      if (readAt === null) {
        refused.push(`${name} is already in etcd with other text (revision ${now.modRevision}); give --replace to overwrite it`);
        continue;
      }
      if (readAt !== heldEtag) {
        refused.push(
          `${name} changed in etcd since ${path.basename(zone.file)} was exported (the file was read at ETag ${readAt}, etcd holds ${heldEtag ?? 'text that does not load'}); export it again and redo your edit, or give --replace to overwrite the change`,
        );
        continue;
      }
      // The file is an edit of exactly what etcd holds: no --replace needed.
    }
    compare.push(now ? { key, target: 'MOD', result: 'EQUAL', modRevision: now.modRevision } : { key, target: 'CREATE', result: 'EQUAL', createRevision: 0 });
    ops.push({ put: { key, value: text } });
    lines.push(`${now ? 'replaced' : 'imported'} ${name} (serial ${zone.serial}) -> ${key}`);
    if (now) {
      // RFC 1982 §3.2: secondaries transfer only when the serial grows.
      const held = loadZoneKey(key, now.value);
      if (held.ok && !serialGreater(zone.serial, held.zone.serial))
        lines.push(`warning: ${name} serial ${zone.serial} is not greater than the ${held.zone.serial} in etcd; secondaries will not transfer the change`);
    }
  }
  if (o.prune) {
    const keep = new Set(zones.map((z) => layout.zone(z.origin)));
    for (const kv of kvs) {
      if (keep.has(kv.key)) continue;
      compare.push({ key: kv.key, target: 'MOD', result: 'EQUAL', modRevision: kv.modRevision });
      ops.push({ delete: { key: kv.key } });
      lines.push(`deleted ${kv.key}`);
    }
  }
  if (refused.length > 0) {
    for (const r of refused) out(`${r}\n`);
    out('nothing imported\n');
    return 1;
  }
  if (latencyText !== undefined) {
    ops.push({ put: { key: layout.latency, value: latencyText } });
    lines.push(`imported the latency table -> ${layout.latency}`);
  }
  if (ops.length > 0) {
    const res = await client.txn(compare, ops);
    if (!res.succeeded) {
      out('a zone changed in etcd while importing; nothing imported, run the import again\n');
      return 1;
    }
    lines.push(`revision ${res.revision}`);
  }
  for (const l of lines) out(`${l}\n`);
  return 0;
}

async function exportZones(client: EtcdClient, layout: KeyLayout, dir: string, latencyFile: string | undefined, out: (s: string) => void): Promise<number> {
  fs.mkdirSync(dir, { recursive: true });
  const { kvs, revision } = await client.range(layout.zones, { prefix: true });
  for (const kv of kvs) {
    const name = kv.key.slice(layout.zones.length);
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('..')) {
      out(`skipped ${kv.key}: not a zone key name\n`);
      continue;
    }
    const file = path.join(dir, `${name === '.' ? 'root' : name}${zoneSuffix(kv.value)}`);
    // With the ETag of what was read as a first comment line, which import understands and strips.
    const built = loadZoneKey(kv.key, kv.value);
    writeFileAtomic(file, built.ok ? withEtagLine(kv.value, etagOf(built.zone, kv.value), sniffZoneKind(kv.value)) : kv.value);
    out(`exported ${kv.key} -> ${file}\n`);
  }
  if (latencyFile !== undefined) {
    const kv = await client.get(layout.latency);
    if (kv) {
      writeFileAtomic(path.resolve(latencyFile), kv.value);
      out(`exported ${layout.latency} -> ${latencyFile}\n`);
    } else out(`no latency table in etcd (${layout.latency})\n`);
  }
  out(`${kvs.length} zone${kvs.length === 1 ? '' : 's'} at revision ${revision}\n`);
  return 0;
}
