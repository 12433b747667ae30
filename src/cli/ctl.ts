/**
 * @module cli/ctl
 * `meridian ctl`: the common operator tasks over the admin API (docs/api.md), with aligned
 * tables for people and `--json` for scripts. An API error prints the problem's title, detail
 * and field errors to stderr and exits 1; bad usage exits 2.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { splitEtagLine, withEtagLine } from '../zone/etag-line.js';
import { ENDPOINT_STATUSES } from '../health/status.js';
import { flag, option, renderCommandHelp, resolveOptions, usageError, type OptionSpec } from './options.js';
import { CLI_DURATION, parseDuration } from '../proto/duration.js';
import { fetch, type Dispatcher, type Headers, type Response } from 'undici';
import { adminDispatcher, findLocalToken } from './admin-client.js';

/** The options every ctl command takes (shown in `meridian ctl --help`). */
const CTL_GLOBAL_OPTIONS: readonly OptionSpec[] = [
  option({ name: 'api', type: 'string', arg: 'URL', default: 'http://127.0.0.1:8053', help: 'admin API, http:// or https:// (also $MERIDIAN_API)' }),
  option({
    name: 'api-ca',
    type: 'path',
    arg: 'FILE',
    help: "CA certificate (PEM) that signed the API's certificate; default: the system's CAs (also $MERIDIAN_API_CA)",
  }),
  option({
    name: 'token',
    type: 'string',
    arg: 'TOKEN',
    help: 'bearer token (default $MERIDIAN_TOKEN; on the same machine, the write token the node made, if this user can read it)',
  }),
  flag({ name: 'json', type: 'boolean', help: "print the API's JSON" }),
];

/** Every ctl option: the global ones, and those of single commands (their help is the command's; read from no variable). */
export const CTL_OPTIONS: readonly OptionSpec[] = [
  ...CTL_GLOBAL_OPTIONS,
  ...(['format', 'region', 'reason', 'for', 'type', 'client', 'down-regions', 'down-endpoints', 'endpoints', 'min-healthy-regions'] as const).map((name) =>
    flag({ name, type: 'string', help: `see "meridian ctl COMMAND --help"` }),
  ),
  flag({ name: 'no-wait', type: 'boolean', help: 'drill run: do not wait for the report' }),
  flag({ name: 'force', type: 'boolean', help: 'zones apply: replace without the meridian-etag check' }),
  flag({ name: 'algorithm', type: 'string', help: 'dnssec enable: ecdsap256sha256 (default) or ed25519' }),
  flag({ name: 'dnskey-ttl', type: 'string', help: "dnssec enable: TTL of DNSKEY, CDS, CDNSKEY (default: the SOA's)" }),
  flag({ name: 'complete', type: 'boolean', help: 'dnssec rollover: withdraw the old key' }),
  flag({ name: 'propagation-delay', type: 'string', help: 'dnssec rollover: time beyond the TTLs (default 60s)' }),
];

/** The command options' values, as the commands read them. */
type CtlValues = {
  readonly [K in 'format' | 'region' | 'reason' | 'for' | 'type' | 'client' | 'down-regions' | 'down-endpoints' | 'endpoints' | 'min-healthy-regions']?:
    | string
    | undefined;
} & {
  readonly 'no-wait': boolean;
  readonly force: boolean;
  readonly complete: boolean;
  readonly algorithm?: string | undefined;
  readonly 'dnskey-ttl'?: string | undefined;
  readonly 'propagation-delay'?: string | undefined;
};

export const CTL_HELP = renderCommandHelp(
  `Usage: meridian ctl [--api URL] [--api-ca FILE] [--token TOKEN] [--json] <command> [args]

Operate a Meridian node through its admin API.

Commands:
  zones list                                   zones with serial, format and counts
  zones get ZONE                               the zone in its own format, YAML or master file, with
                                               its ETag as a first comment line (--json: the document)
  zones export ZONE [--format yaml|zone]       YAML or an RFC 1035 master file
  zones apply FILE [--force]                   create or replace a zone from a file; refused (412) if the
                                               zone changed since the file was read
  regions list                                 regions with status and endpoint counts
  regions status ID                            a region's endpoints, health and votes
  drain ENDPOINT | --region ID --reason TEXT [--for DURATION]
                                               take an endpoint (pool/id) or region out of answers
  undrain ENDPOINT | --region ID               lift it
  overrides list                               overrides in force
  nodes                                        the cluster's nodes and checkers: region, revision, lag,
                                               last seen, active checker (this node alone when single)
  simulate NAME [--type A] [--client ADDR|SUBNET] [--down-regions a,b] [--down-endpoints pool/id,...]
                                               the answer the server would give, and why
  drill preview --region ID | --endpoints a,b  what taking it out would change (changes nothing)
  drill run --region ID | --endpoints a,b --for DURATION [--min-healthy-regions N] [--reason TEXT]
                                               a live drill; waits for its report (--no-wait: don't)
  drill status [ID]                            every drill, or one drill's report
  drill abort ID                               abort a running drill and restore at once
  (also as "meridian drill ...")
  dnssec status ZONE                           signing state, keys (tag, algorithm, flags, state)
  dnssec ds ZONE                               the DS records to give the parent
  dnssec enable ZONE [--algorithm A] [--dnskey-ttl D]
                                               sign the zone (makes its keys)
  dnssec disable ZONE                          stop signing; remove the DS at the parent first
  dnssec rollover ZONE [--complete]            roll the key: publish a new one that signs after the
                                               DNSKEY TTL; --complete withdraws the old one`,
  CTL_GLOBAL_OPTIONS,
  `Run "meridian ctl COMMAND --help" for one command's details.`,
);

const GLOBAL_OPTIONS = `Global options: --api URL, --api-ca FILE, --token TOKEN, --json (see "meridian ctl --help").
`;

/** Help for one command: `meridian ctl COMMAND --help`. */
export const COMMAND_HELP: Record<string, string> = {
  zones:
    `Usage: meridian ctl zones list
       meridian ctl zones get ZONE [--format yaml|zone]
       meridian ctl zones export ZONE [--format yaml|zone]
       meridian ctl zones apply FILE [--force]

  list     every zone with its serial, format, record and policy counts and file; files that
           do not load are listed after it with their errors
  get      the zone in the format it is kept in: a YAML zone as YAML, a master-file zone as its
           RFC 1035 master file (--format picks one). The first line records the ETag of what
           was read: # meridian-etag: "..." (YAML) or ; meridian-etag: "..." (master file).
           --json: the zone document
  export   YAML (default) or, with --format zone, an RFC 1035 master file, with the same first
           line. A YAML zone exported as a master file (policy records shown as comments with
           the answer an unknown client gets now) is a copy, and gets no meridian-etag line
  apply    create or replace a zone from a file that get or export wrote, after your edit. The
           meridian-etag line is sent as If-Match: if the zone changed since the file was read,
           nothing changes, and apply says "the zone changed since you read it" and exits 1.
           A file without that line only creates a zone that does not exist yet; to replace a
           zone with it, give --force (no check: whatever changed since is overwritten).
           A master file (the ; line, or a *.zone name) goes to POST /v1/zones/import; anything
           else is read as a YAML zone document (PUT /v1/zones/ZONE)

` + GLOBAL_OPTIONS,
  nodes:
    `Usage: meridian ctl nodes

  Every node and checker of the cluster (GET /v1/nodes): id (* is the node asked), kind, region,
  DNS address, the configuration revision it serves, how many revisions it lags behind the most
  current member, when it was last seen, and whether it runs its region's checks. A single node
  lists itself.

` + GLOBAL_OPTIONS,
  regions:
    `Usage: meridian ctl regions list
       meridian ctl regions status ID

  list     every region: status (healthy, degraded, down, drained, unchecked, empty), usable/total
           endpoints, how many endpoints have each status (up, down, unknown, unchecked, forced up,
           forced down, drained, weight zero), and an override
  status   one region's endpoints: address, weight, status, health view, usable or why not, each
           checker's vote

` + GLOBAL_OPTIONS,
  drain:
    `Usage: meridian ctl drain ENDPOINT --reason TEXT [--for DURATION]
       meridian ctl drain --region ID --reason TEXT [--for DURATION]

Take an endpoint (pool/id, e.g. web-euw/euw-a) or a whole region out of answers. --reason is
required (audit log, status page). --for lifts it by itself after 90s, 30m, 2h, 1d; without it
the drain stays until "meridian ctl undrain". Draining a target again replaces the override.

` + GLOBAL_OPTIONS,
  undrain:
    `Usage: meridian ctl undrain ENDPOINT
       meridian ctl undrain --region ID

Lift the override on an endpoint (pool/id) or a region, whatever its kind.

` + GLOBAL_OPTIONS,
  overrides:
    `Usage: meridian ctl overrides list

Overrides in force: target (endpoint:pool/id or region:id), kind, who set it, when it lifts, why.

` + GLOBAL_OPTIONS,
  simulate:
    `Usage: meridian ctl simulate NAME [--type A] [--client ADDR|SUBNET] [--down-regions a,b]
                             [--down-endpoints pool/id,...]

The answer the DNS server would give now (rcode, ECS scope, the records as dig prints them) and
the path the policies took. --type is any record type, e.g. A, MX, HTTPS, TYPE65 (default A). A subnet (192.0.2.0/24) is sent as EDNS Client Subnet, an address as the query's
source (default 127.0.0.1). --down-regions and --down-endpoints ask "what if these were down";
nothing is changed.

` + GLOBAL_OPTIONS,
  drill:
    `Usage: meridian ctl drill preview --region ID | --endpoints a,b [--min-healthy-regions N]
       meridian ctl drill run --region ID | --endpoints a,b --for DURATION
                              [--min-healthy-regions N] [--reason TEXT] [--no-wait]
       meridian ctl drill status [ID]
       meridian ctl drill abort ID

  preview  what taking the target out would change, per record and country: the answers a
           client can get now and during the drill, with their shares (changes nothing);
           exits 1 when a safety rule fails (the live drill would be refused)
  run      a live drill: drains the target for --for, then restores; waits for the report and
           exits 1 when one of its checks failed, including an observed answer that the
           preview did not predict (--no-wait: print its id and return)
  status   every drill, or one drill's report
  abort    abort a running drill and restore at once
(also as "meridian drill ...")

` + GLOBAL_OPTIONS,
};

COMMAND_HELP['dnssec'] =
  `Usage: meridian ctl dnssec status ZONE
       meridian ctl dnssec ds ZONE
       meridian ctl dnssec enable ZONE [--algorithm ecdsap256sha256|ed25519] [--dnskey-ttl DURATION]
       meridian ctl dnssec disable ZONE
       meridian ctl dnssec rollover ZONE [--propagation-delay DURATION] [--complete]

  status    whether the zone is signed and why (its document's dnssec: block, or the API), and
            each key: tag, algorithm, flags, state (active signs; published signs later;
            retiring stays published until the rollover completes)
  ds        the DS records (SHA-256) the parent zone must hold, one per line, ready to paste
  enable    sign every answer to DO=1 queries; makes a combined signing key (CSK). Needs --state
            on a single node (keys must survive a restart); a cluster keeps them in etcd
  disable   stop signing and delete the keys. First remove the DS at the parent and wait for its
            TTL to pass, or validating resolvers will fail the zone (docs/dnssec.md)
  rollover  publish a new key now; it signs once the DNSKEY TTL and the propagation delay have
            passed, while the old key keeps signing the DNSKEY RRset. Give the parent the new DS
            (CDS/CDNSKEY show it), then --complete withdraws the old key; refused until the zone's
            largest TTL has passed since the new key began signing

` + GLOBAL_OPTIONS;

/** Prints a zone's DNSSEC state: a line, then its keys. */
function printDnssec(ctx: Ctx, d: any): void {
  if (ctx.json) return ctx.out(JSON.stringify(d, null, 2) + '\n');
  const why = d.signed
    ? `signed (${d.source === 'api' ? 'enabled through the API' : 'its document asks'}), ${d.algorithm}, DNSKEY TTL ${d.dnskey_ttl}s`
    : 'not signed';
  ctx.out(`${d.zone} ${why}${d.problem ? ` - ${d.problem}` : ''}\n`);
  if (d.keys.length > 0)
    ctx.out(
      table(
        d.keys.map((k: any) => [k.tag, `${k.algorithm} (${k.algorithm_name})`, k.flags, k.state, k.activate_at]),
        ['TAG', 'ALGORITHM', 'FLAGS', 'STATE', 'SIGNS FROM'],
      ),
    );
  if (d.rollover)
    ctx.out(
      `rollover: key ${d.rollover.new_tag} signs from ${d.rollover.activate_at}; key ${d.rollover.old_tag} may be withdrawn after ${d.rollover.complete_after}\n`,
    );
  if (d.ds.length > 0) ctx.out(`DS for the parent:\n${d.ds.map((x: string) => `  ${x}`).join('\n')}\n`);
}

async function dnssec(ctx: Ctx, args: string[], opts: CtlValues): Promise<void> {
  const [sub, zone] = args;
  need(args, 2, 'ZONE');
  const url = `/v1/zones/${encodeURIComponent(zone!)}/dnssec`;
  switch (sub) {
    case 'status':
      return printDnssec(ctx, (await call(ctx, 'GET', url)).json);
    case 'ds': {
      const r = await call(ctx, 'GET', url);
      if (ctx.json) return ctx.out(JSON.stringify(r.json.ds, null, 2) + '\n');
      if (!r.json.signed) throw new ApiError(`zone ${r.json.zone} is not signed; sign it with "meridian ctl dnssec enable ${r.json.zone}"`);
      return ctx.out(r.json.ds.map((x: string) => `${x}\n`).join(''));
    }
    case 'enable': {
      const body: Record<string, string> = {};
      if (opts.algorithm !== undefined) body['algorithm'] = opts.algorithm;
      if (opts['dnskey-ttl'] !== undefined) body['dnskey_ttl'] = opts['dnskey-ttl'];
      return printDnssec(ctx, (await call(ctx, 'POST', url, { json: body })).json);
    }
    case 'disable':
      return printDnssec(ctx, (await call(ctx, 'DELETE', url)).json);
    case 'rollover': {
      const body: Record<string, string> = { step: opts.complete ? 'complete' : 'start' };
      if (opts['propagation-delay'] !== undefined) body['propagation_delay'] = opts['propagation-delay'];
      return printDnssec(ctx, (await call(ctx, 'POST', `${url}/rollover`, { json: body })).json);
    }
  }
  throw usageError(`unknown "dnssec ${sub ?? ''}"; use status, ds, enable, disable or rollover`);
}

/** A failure to report and exit 1 on: an API problem (with its HTTP status), an unreachable API, an unreadable file. */
class ApiError extends Error {
  readonly status: number | null;
  constructor(message: string, status: number | null = null) {
    super(message);
    this.status = status;
  }
}

interface Ctx {
  api: string;
  token: string | undefined;
  /** Verifies an https:// API against --api-ca. */
  dispatcher: Dispatcher | undefined;
  /** Whether the node's own token was looked for (once, before the first request without --token). */
  looked: boolean;
  /** Why the node's own token could not be used, for a 401. */
  why: string | undefined;
  json: boolean;
  out: (s: string) => void;
  err: (s: string) => void;
}

async function call(
  ctx: Ctx,
  method: string,
  url: string,
  body?: { json?: unknown; text?: string; contentType?: string },
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string; json: any }> {
  const h: Record<string, string> = { ...headers };
  if (ctx.token === undefined && !ctx.looked) {
    ctx.looked = true;
    const found = await findLocalToken(ctx.api, ctx.dispatcher);
    ctx.token = found.token;
    ctx.why = found.why;
  }
  if (ctx.token) h['authorization'] = `Bearer ${ctx.token}`;
  let payload: string | undefined;
  if (body?.json !== undefined) {
    payload = JSON.stringify(body.json);
    h['content-type'] = 'application/json';
  } else if (body?.text !== undefined) {
    payload = body.text;
    h['content-type'] = body.contentType ?? 'text/plain';
  }
  let res: Response;
  try {
    res = await fetch(new URL(url, ctx.api), {
      method,
      headers: h,
      ...(payload !== undefined ? { body: payload } : {}),
      ...(ctx.dispatcher ? { dispatcher: ctx.dispatcher } : {}),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(cause)
      ? "; the API's certificate is not trusted: give --api-ca FILE, the CA that signed it"
      : '';
    throw new ApiError(`cannot reach the admin API at ${ctx.api} (${cause})${tls}`);
  }
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.status >= 400) {
    const lines = [json?.title ? `${json.title} (HTTP ${res.status}${json.code ? `, ${json.code}` : ''})` : `HTTP ${res.status}`];
    const errors = (json?.errors ?? []) as { field?: string; message: string; line?: number }[];
    // A validation problem's detail is often just its errors joined; print them once, a line each.
    if (json?.detail && json.detail !== json.title && json.detail !== errors.map((e) => e.message).join('; ')) lines.push(json.detail);
    for (const e of errors) lines.push(`  - ${e.line ? `line ${e.line}: ` : ''}${e.message}`);
    if (res.status === 401 && ctx.why) lines.push(ctx.why);
    throw new ApiError(lines.join('\n'), res.status);
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Aligned columns. */
export function table(rows: (string | number | null | undefined)[][], head: string[]): string {
  const all = [head, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

function durationSeconds(text: string): number {
  const seconds = parseDuration(CLI_DURATION, text);
  if (seconds === undefined) throw usageError(`--for must be a duration such as 90s, 30m, 2h or 1d, not "${text}"`);
  return seconds;
}

/** The origin a `$ORIGIN` line gives when it comes before any record (only blanks, comments and `$TTL` before it). */
function leadingOrigin(text: string): string | null {
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith(';') || /^\$TTL\s/i.test(t)) continue;
    return /^\$ORIGIN\s+(\S+)/i.exec(t)?.[1] ?? null;
  }
  return null;
}

function need(args: string[], n: number, what: string): void {
  if (args.length < n) throw usageError(`missing ${what}; see "meridian ctl --help"`);
}

async function zones(ctx: Ctx, args: string[], opts: { format?: string | undefined; force?: boolean | undefined }): Promise<void> {
  const [sub, arg] = args;
  if (sub === 'list') {
    const r = await call(ctx, 'GET', '/v1/zones');
    if (ctx.json) return ctx.out(JSON.stringify(r.json, null, 2) + '\n');
    ctx.out(
      table(
        r.json.zones.map((z: any) => [z.name, z.serial, z.format, z.records, z.policies, path.basename(z.file)]),
        ['ZONE', 'SERIAL', 'FORMAT', 'RECORDS', 'POLICIES', 'FILE'],
      ),
    );
    const bad = (r.json.files ?? []).filter((f: any) => f.errors.length > 0);
    for (const f of bad) ctx.out(`! ${path.basename(f.file)}: ${f.errors.map((e: any) => `line ${e.line}: ${e.message}`).join('; ')}\n`);
    return;
  }
  if (sub === 'get' || sub === 'export') {
    need(args, 2, 'ZONE');
    if (ctx.json && sub === 'get') return ctx.out(JSON.stringify((await call(ctx, 'GET', `/v1/zones/${encodeURIComponent(arg!)}`)).json, null, 2) + '\n');
    if (opts.format !== undefined && opts.format !== 'yaml' && opts.format !== 'zone') throw usageError('--format must be yaml or zone');
    // The format the zone is kept in: `get` prints a zone in it, and every export that is the
    // zone's own text (or YAML, which holds everything) starts with its meridian-etag line.
    const want = arg!.toLowerCase().replace(/\.?$/, '.');
    const listed = (await call(ctx, 'GET', '/v1/zones')).json.zones.find((z: any) => String(z.name).toLowerCase() === want);
    const kind: 'yaml' | 'master' = listed?.format === 'master' ? 'master' : 'yaml';
    const format = opts.format ?? (sub === 'get' && kind === 'master' ? 'zone' : 'yaml');
    const r = await call(ctx, 'GET', `/v1/zones/${encodeURIComponent(arg!)}/export?format=${format}`);
    const etag = r.headers.get('etag');
    if (format === 'zone' && kind === 'yaml') {
      ctx.err(
        `meridian ctl: no meridian-etag line: ${listed?.name ?? arg} is a YAML zone, and its master-file form is a copy (policy records become comments), not something to apply back\n`,
      );
      return ctx.out(r.text);
    }
    return ctx.out(etag ? withEtagLine(r.text, etag, format === 'zone' ? 'master' : 'yaml') : r.text);
  }
  if (sub === 'apply') {
    need(args, 2, 'FILE');
    let raw: string;
    try {
      raw = fs.readFileSync(arg!, 'utf8');
    } catch (err) {
      throw new ApiError(`cannot read ${arg}: ${(err as Error).message}`);
    }
    // The ETag of the revision the file was read from (zone/etag-line.ts), sent as If-Match, so a
    // change made since is refused (412) rather than overwritten. Its comment character also says
    // the format; without it, the file name does.
    const line = splitEtagLine(raw);
    const master = line.kind !== null ? line.kind === 'master' : arg!.endsWith('.zone');
    // The text sent: with --force the line goes (the server would take it as If-Match), and an
    // empty line keeps the line numbers of errors those of the file.
    const text = opts.force && line.etag !== null ? `\n${line.text}` : raw;
    const force = opts.force === true;
    let zoneName: string;
    let r;
    try {
      if (master) {
        // The server names the zone by a leading $ORIGIN, else by the file name (zone/load.ts).
        const fromName = path.basename(arg!).replace(/\.zone$/, '');
        zoneName = leadingOrigin(text) ?? fromName;
        const cond: Record<string, string> = force ? {} : line.etag !== null ? { 'if-match': line.etag } : { 'if-none-match': '*' };
        r = await call(ctx, 'POST', `/v1/zones/import?zone=${encodeURIComponent(fromName)}`, { text, contentType: 'text/dns' }, cond);
      } else {
        let doc: { zone?: string };
        try {
          doc = parseYaml(text) as { zone?: string };
        } catch (err) {
          throw new ApiError(`${arg}: not YAML: ${(err as Error).message.split('\n')[0]}`);
        }
        if (!doc || typeof doc.zone !== 'string') throw new ApiError(`${arg}: a zone file needs a "zone:" field`);
        zoneName = doc.zone;
        const url = `/v1/zones/${encodeURIComponent(doc.zone)}`;
        if (!force && line.etag !== null) r = await call(ctx, 'PUT', url, { json: doc }, { 'if-match': line.etag });
        else if (!force)
          r = await call(ctx, 'POST', '/v1/zones', { json: doc }); // create only: 409 if it exists
        else {
          const exists = await call(ctx, 'GET', url).then(
            () => true,
            (err: unknown) => (err instanceof ApiError && err.status === 404 ? false : Promise.reject(err)),
          );
          r = exists ? await call(ctx, 'PUT', url, { json: doc }) : await call(ctx, 'POST', '/v1/zones', { json: doc });
        }
      }
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const name = zoneName! ?? arg!;
      if (err.status === 412 && line.etag !== null) {
        throw new ApiError(
          `the zone changed since you read it: ${arg} was read at ETag ${line.etag}, and zone ${name} has been changed since. Nothing was changed.\n` +
            `  To keep both changes: get the zone again (meridian ctl zones get ${name} > ${path.basename(arg!)}), make your edit again in that file, and apply it.\n` +
            `  To overwrite the other change with this file: meridian ctl zones apply --force ${arg}`,
          412,
        );
      }
      if ((err.status === 409 || err.status === 412) && line.etag === null) {
        throw new ApiError(
          `${arg} has no meridian-etag line, so there is no telling whether zone ${name} changed since the file was read; nothing was changed.\n` +
            `  Get the zone with "meridian ctl zones get ${name}" (it writes that line), edit that, and apply it;\n` +
            `  or give --force to replace the zone with this file whatever it holds now.`,
          err.status,
        );
      }
      throw err;
    }
    if (ctx.json) return ctx.out(JSON.stringify(r.json, null, 2) + '\n');
    const forced = force && r.status !== 201 ? ' (--force: replaced without checking for changes made since the file was read)' : '';
    return ctx.out(`${r.status === 201 ? 'created' : 'replaced'} ${r.json.name}, serial ${r.json.serial}${forced}\n`);
  }
  throw usageError(`unknown "zones ${sub ?? ''}"; use list, get, export or apply`);
}

async function regions(ctx: Ctx, args: string[]): Promise<void> {
  const [sub, id] = args;
  if (sub === 'list') {
    const r = await call(ctx, 'GET', '/v1/regions');
    if (ctx.json) return ctx.out(JSON.stringify(r.json, null, 2) + '\n');
    // ENDPOINTS counts each endpoint status present (docs/health.md, "Region states"): "2 up, 1 weight 0".
    const byStatus = (g: any) =>
      ENDPOINT_STATUSES.filter((k) => g.endpoint_statuses?.[k])
        .map((k) => `${g.endpoint_statuses[k]} ${k.replace('_', ' ')}`)
        .join(', ') || null;
    return ctx.out(
      table(
        r.json.regions.map((g: any) => [
          g.id,
          g.status,
          `${g.endpoints.usable}/${g.endpoints.total}`,
          byStatus(g),
          g.override ? `${g.override.kind}${g.override.reason ? ` (${g.override.reason})` : ''}` : null,
        ]),
        ['REGION', 'STATUS', 'USABLE', 'ENDPOINTS', 'OVERRIDE'],
      ),
    );
  }
  if (sub === 'status') {
    need(args, 2, 'region ID');
    const r = await call(ctx, 'GET', `/v1/regions/${encodeURIComponent(id!)}/status`);
    if (ctx.json) return ctx.out(JSON.stringify(r.json, null, 2) + '\n');
    ctx.out(`${r.json.id} (${r.json.name}): ${r.json.status}, ${r.json.endpoints.usable} of ${r.json.endpoints.total} usable\n`);
    const votes = (v: any[]) => v.map((x) => `${x.checker}:${x.up ? 'up' : 'down'}${x.fresh ? '' : '(stale)'} ${x.rtt_ms}ms ${x.reason}`).join(', ');
    return ctx.out(
      table(
        r.json.endpoints_detail.map((e: any) => [e.endpoint, e.address, e.weight, e.status, e.health, e.usable ? 'yes' : 'no', e.reason, votes(e.votes)]),
        ['ENDPOINT', 'ADDRESS', 'WEIGHT', 'STATUS', 'HEALTH', 'USABLE', 'WHY NOT', 'VOTES'],
      ),
    );
  }
  throw usageError(`unknown "regions ${sub ?? ''}"; use list or status`);
}

async function drain(
  ctx: Ctx,
  args: string[],
  opts: { region?: string | undefined; reason?: string | undefined; for?: string | undefined },
  lift: boolean,
): Promise<void> {
  const endpoint = args[0];
  if (!endpoint === !opts.region) throw usageError('give an endpoint (pool/id) or --region ID');
  const id = endpoint ? `endpoint:${endpoint}` : `region:${opts.region}`;
  if (lift) {
    await call(ctx, 'DELETE', `/v1/overrides/${encodeURIComponent(id)}`);
    return ctx.out(`lifted ${id}\n`);
  }
  if (!opts.reason) throw usageError('--reason is required (it goes into the audit log)');
  const body = {
    ...(endpoint ? { endpoint } : { region: opts.region }),
    kind: 'drain',
    reason: opts.reason,
    ...(opts.for ? { expires_in: durationSeconds(opts.for) } : {}),
  };
  // The API refuses a target no zone defines (404), so a typo cannot drain nothing silently.
  const r = await call(ctx, 'POST', '/v1/overrides', { json: body });
  if (ctx.json) return ctx.out(JSON.stringify(r.json, null, 2) + '\n');
  return ctx.out(`drained ${id}${r.json.expires_at ? ` until ${r.json.expires_at}` : ''}\n`);
}

async function simulate(
  ctx: Ctx,
  args: string[],
  opts: { type?: string | undefined; client?: string | undefined; 'down-regions'?: string | undefined; 'down-endpoints'?: string | undefined },
): Promise<void> {
  need(args, 1, 'NAME');
  const q = new URLSearchParams({ name: args[0]!, type: opts.type ?? 'A' });
  if (opts.client) q.set('client', opts.client);
  if (opts['down-regions']) q.set('down_regions', opts['down-regions']);
  if (opts['down-endpoints']) q.set('down_endpoints', opts['down-endpoints']);
  const r = await call(ctx, 'GET', `/v1/simulate?${q}`);
  if (ctx.json) return ctx.out(JSON.stringify(r.json, null, 2) + '\n');
  const { answer, explanation } = r.json;
  const lines = [`${answer.rcode}${answer.ecs_scope !== null ? `, ECS scope /${answer.ecs_scope}` : ''}`];
  // Records as dig prints them: owner, TTL, class, type, RDATA in presentation form.
  for (const rec of answer.records) lines.push(`  ${rec.name} ${rec.ttl} ${rec.class} ${rec.type} ${rec.data}`);
  if (explanation.geolocation)
    lines.push(`located in ${explanation.geolocation.subdivision ?? explanation.geolocation.country} (${explanation.geolocation.continent})`);
  for (const step of explanation.path) lines.push(`  ${step.at}: ${step.note}`);
  if (explanation.all_down_fallback) lines.push("  nothing usable: the record's on_all_down answered");
  if (explanation.what_if) lines.push(`what-if: ${JSON.stringify(explanation.what_if)}`);
  ctx.out(lines.join('\n') + '\n');
}

/** A drill target as text: `region eu-west`, `endpoints web-euw/euw-a, web-euw/euw-b`. */
function targetText(t: any): string {
  const parts: string[] = [];
  if (t?.region) parts.push(`region ${t.region}`);
  if (t?.endpoints?.length) parts.push(`endpoint${t.endpoints.length > 1 ? 's' : ''} ${t.endpoints.join(', ')}`);
  return parts.join(' and ') || '(nothing)';
}

const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;

/** Candidate answers with their shares: `203.0.113.10 75% | 203.0.113.11 25%`. */
function candidatesText(list: any[]): string {
  if (!list.length) return '(nothing)';
  return list.map((c: any) => `${c.answer.join(' ') || '(empty)'} ${pct(c.share)}${c.all_down ? ' (on_all_down)' : ''}`).join(' | ');
}

function printPreview(ctx: Ctx, r: any): void {
  const lines = [`drill preview: ${targetText(r.target)}`];
  const sampled = r.records.some((rec: any) => rec.vantage.some((v: any) => !v.exact));
  lines.push(
    `${r.changed_answers} answers change (record × vantage point, of ${r.records.length} policy records from ${r.vantage_points.length} vantage points; shares ${sampled ? 'partly sampled' : 'exact'})`,
  );
  // The same change seen from several vantage points is one entry.
  const groups = new Map<string, { rec: any; v: any; from: string[] }>();
  for (const rec of r.records) {
    for (const v of rec.vantage) {
      if (!v.changed) continue;
      const key = JSON.stringify([rec.name, rec.type, v.before, v.after]);
      const g = groups.get(key);
      if (g) g.from.push(v.country);
      else groups.set(key, { rec, v, from: [v.country] });
    }
  }
  for (const { rec, v, from } of groups.values()) {
    lines.push('', `${rec.name} ${rec.type}  from ${from.join(', ')}`);
    lines.push(`  now:     ${candidatesText(v.before)}`);
    lines.push(`  drill:   ${candidatesText(v.after)}`);
    lines.push(
      `  moves:   ${pct(v.moved_share)} of its answers, to ${v.moves_to.map((m: any) => `${m.answer.join(' ') || '(empty)'} ${pct(m.share)} (${m.regions.join(', ') || 'no region'})`).join(' | ') || '(nothing)'}`,
    );
  }
  lines.push(
    '',
    table(
      r.capacity.map((c: any) => [c.region, `${c.usable_before} → ${c.usable_after}`, `${c.weight_before} → ${c.weight_after}`]),
      ['REGION', 'USABLE', 'WEIGHT'],
    ).trimEnd(),
  );
  lines.push(
    '',
    table(
      r.safety.map((c: any) => [c.pass ? 'pass' : 'FAIL', c.rule, c.detail]),
      ['', 'RULE', 'DETAIL'],
    ).trimEnd(),
  );
  lines.push('', r.passed ? 'every safety rule passes: a live drill would start' : 'a safety rule fails: a live drill would be refused');
  ctx.out(lines.join('\n') + '\n');
}

function printReport(ctx: Ctx, r: any): void {
  const lines = [`drill ${r.id}: ${r.state}  target ${targetText(r.target)}  ${r.duration_s}s  by ${r.by}  (${r.reason})`];
  lines.push(
    table(
      r.nodes.map((n: any) => [n.node, n.drained_after_ms, n.restored_after_ms]),
      ['NODE', 'DRAINED AFTER MS', 'RESTORED AFTER MS'],
    ).trimEnd(),
  );
  lines.push(
    table(
      r.checks.map((c: any) => [c.pass ? 'pass' : 'FAIL', c.rule, c.detail]),
      ['', 'RULE', 'DETAIL'],
    ).trimEnd(),
  );
  if (r.violations?.length) {
    lines.push('unpredicted answers:');
    for (const v of r.violations)
      lines.push(`  +${v.at_ms} ms  node ${v.node}  ${v.name} ${v.type} from ${v.country} (${v.subnet}): ${v.answer.join(' ') || '(empty)'} — ${v.why}`);
  }
  lines.push('timeline:');
  for (const e of r.timeline) lines.push(`  ${e.at}  ${e.event}${e.detail ? `: ${e.detail}` : ''}`);
  ctx.out(lines.join('\n') + '\n');
}

async function drill(
  ctx: Ctx,
  args: string[],
  opts: {
    region?: string | undefined;
    endpoints?: string | undefined;
    for?: string | undefined;
    reason?: string | undefined;
    'min-healthy-regions'?: string | undefined;
    'no-wait'?: boolean | undefined;
  },
): Promise<void> {
  const [sub, id] = args;
  const target = () => {
    if (!opts.region === !opts.endpoints) throw usageError('give --region ID or --endpoints pool/id,...');
    return opts.region
      ? { region: opts.region }
      : {
          endpoints: opts
            .endpoints!.split(',')
            .map((e) => e.trim())
            .filter(Boolean),
        };
  };
  if (sub === 'preview') {
    const r = await call(ctx, 'POST', '/v1/drills', {
      json: { ...target(), mode: 'preview', ...(opts['min-healthy-regions'] ? { min_healthy_regions: Number(opts['min-healthy-regions']) } : {}) },
    });
    if (ctx.json) ctx.out(JSON.stringify(r.json, null, 2) + '\n');
    else printPreview(ctx, r.json);
    // A failing safety rule is a failed preview (exit 1), as the live drill would be refused.
    if (!r.json.passed)
      throw new ApiError(
        `drill preview: ${r.json.safety
          .filter((c: any) => !c.pass)
          .map((c: any) => `${c.rule}: ${c.detail}`)
          .join('; ')}`,
      );
    return;
  }
  if (sub === 'run') {
    if (!opts.for) throw usageError('--for DURATION is required (e.g. --for 5m)');
    const body = {
      ...target(),
      mode: 'live',
      duration_s: durationSeconds(opts.for),
      reason: opts.reason ?? 'drill',
      ...(opts['min-healthy-regions'] ? { min_healthy_regions: Number(opts['min-healthy-regions']) } : {}),
    };
    const r = await call(ctx, 'POST', '/v1/drills', { json: body });
    if (opts['no-wait']) return ctx.out(ctx.json ? JSON.stringify(r.json, null, 2) + '\n' : `drill ${r.json.id} running until ${r.json.ends_at}\n`);
    for (;;) {
      await new Promise((res) => setTimeout(res, 500));
      const s = await call(ctx, 'GET', `/v1/drills/${r.json.id}`);
      if (s.json.state === 'done' || s.json.state === 'aborted') {
        if (ctx.json) ctx.out(JSON.stringify(s.json, null, 2) + '\n');
        else printReport(ctx, s.json);
        if (s.json.checks.some((c: any) => !c.pass)) throw new ApiError(`drill ${s.json.id} ${s.json.state}; some checks failed`);
        return;
      }
    }
  }
  if (sub === 'status') {
    if (id) {
      const r = await call(ctx, 'GET', `/v1/drills/${encodeURIComponent(id)}`);
      return ctx.json ? ctx.out(JSON.stringify(r.json, null, 2) + '\n') : printReport(ctx, r.json);
    }
    const r = await call(ctx, 'GET', '/v1/drills');
    if (ctx.json) return ctx.out(JSON.stringify(r.json, null, 2) + '\n');
    return ctx.out(
      table(
        r.json.drills.map((d: any) => [d.id, d.state, targetText(d.target), d.started_at, d.ends_at, d.by]),
        ['ID', 'STATE', 'TARGET', 'STARTED', 'ENDS', 'BY'],
      ),
    );
  }
  if (sub === 'abort') {
    need(args, 2, 'drill ID');
    const r = await call(ctx, 'DELETE', `/v1/drills/${encodeURIComponent(id!)}`);
    return ctx.json ? ctx.out(JSON.stringify(r.json, null, 2) + '\n') : printReport(ctx, r.json);
  }
  throw usageError(`unknown "drill ${sub ?? ''}"; use preview, run, status or abort`);
}

/** Runs `meridian ctl`; `out`/`err` are injectable for tests. */
export async function ctlCommand(
  argv: string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  const r = resolveOptions(CTL_OPTIONS, argv, process.env, { positionals: true, config: false });
  const positionals = r.positionals;
  if (r.help || positionals.length === 0) {
    out(COMMAND_HELP[positionals[0] ?? ''] ?? CTL_HELP);
    return r.help ? 0 : 2;
  }
  const v = r.values as Record<string, string | undefined>;
  const values: CtlValues = { ...v, 'no-wait': r.values['no-wait'] === true, force: r.values['force'] === true, complete: r.values['complete'] === true };
  const ctx: Ctx = {
    api: v['api']!,
    token: v['token'],
    dispatcher: adminDispatcher(v['api-ca'], '--api-ca'),
    looked: false,
    why: undefined,
    json: r.values['json'] === true,
    out,
    err,
  };
  try {
    const u = new URL(ctx.api);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw usageError(`--api must be a URL such as http://127.0.0.1:8053 or https://meridian.example.net:8053, not "${ctx.api}"`);
  }
  const [cmd, ...rest] = positionals;
  try {
    switch (cmd) {
      case 'zones':
        await zones(ctx, rest, values);
        break;
      case 'regions':
        await regions(ctx, rest);
        break;
      case 'drain':
        await drain(ctx, rest, values, false);
        break;
      case 'undrain':
        await drain(ctx, rest, values, true);
        break;
      case 'overrides': {
        if (rest[0] !== 'list') throw usageError('use "overrides list"');
        const r = await call(ctx, 'GET', '/v1/overrides');
        if (ctx.json) out(JSON.stringify(r.json, null, 2) + '\n');
        else
          out(
            table(
              r.json.overrides.map((o: any) => [o.id, o.kind, o.by, o.expires_at, o.reason]),
              ['TARGET', 'KIND', 'BY', 'EXPIRES', 'REASON'],
            ),
          );
        break;
      }
      case 'nodes': {
        const r = await call(ctx, 'GET', '/v1/nodes');
        if (ctx.json) out(JSON.stringify(r.json, null, 2) + '\n');
        else {
          if (r.json.mode === 'cluster') out(`cluster, etcd ${r.json.etcd}\n`);
          out(
            table(
              r.json.nodes.map((n: any) => [
                `${n.id}${n.self ? ' *' : ''}`,
                n.kind,
                n.region,
                n.dns,
                n.revision,
                n.lag,
                `${(n.last_seen_ms_ago / 1000).toFixed(1)}s`,
                n.active_checker ? 'yes' : 'no',
              ]),
              ['NODE', 'KIND', 'REGION', 'DNS', 'REVISION', 'LAG', 'SEEN', 'CHECKS'],
            ),
          );
        }
        break;
      }
      case 'simulate':
        await simulate(ctx, rest, values);
        break;
      case 'drill':
        await drill(ctx, rest, values);
        break;
      case 'dnssec':
        await dnssec(ctx, rest, values);
        break;
      default:
        throw usageError(`unknown command "${cmd}"; see "meridian ctl --help"`);
    }
  } catch (e) {
    if (e instanceof ApiError) {
      err(`meridian ctl: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  return 0;
}
