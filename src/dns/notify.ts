/**
 * @module dns/notify
 * DNS NOTIFY (RFC 1996) to configured secondaries: when a served zone's SOA serial changes, every
 * target is told so over UDP and is expected to query us for the SOA and transfer the zone.
 *
 * The {@link Notifier} watches the {@link SnapshotHolder}: at start it remembers each zone's
 * serial without notifying; on every swap it notifies for each zone that is new or whose serial
 * differs. Each (zone, target) pair has at most one NOTIFY in flight, retried with exponential
 * backoff until the secondary answers or the tries run out (RFC 1996 §3.6); a newer serial for
 * the same pair replaces the one being retried.
 */
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { createError } from '../errors.js';
import { formatHostPort, parseHostPort, type HostPort } from '../address.js';
import { keyToPresentation } from '../proto/name.js';
import { CLASSIC_UDP_SIZE, encodeQuery, Opcode, parseResponse, Rcode, rcodeName } from '../proto/wire.js';
import { RRType } from '../proto/types.js';
import type { Snapshot, SnapshotHolder } from '../state/snapshot.js';
import type { Zone } from '../zone/zone.js';

/** A secondary to notify. */
export interface NotifyTarget {
  readonly host: string;
  readonly port: number;
}

export interface NotifierOptions {
  readonly holder: SnapshotHolder;
  readonly targets: readonly NotifyTarget[];
  readonly log: Logger;
  /**
   * How long to wait for a response after each try, in ms; one try per entry. RFC 1996 §3.6
   * leaves interval and count to the operator and allows exponential backoff. Default
   * {@link DEFAULT_RETRY_DELAYS_MS}: 5 tries, 1 s, 2 s, 4 s, 8 s apart, then 8 s for a last answer.
   */
  readonly retryDelaysMs?: readonly number[];
}

/** The default wait after each try: 5 tries in all, about 23 s before giving up. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1_000, 2_000, 4_000, 8_000, 8_000];

/** The default port of a NOTIFY target. */
const DEFAULT_PORT = 53;
/** The flag whose value {@link parseNotifyTargets} parses, named in its errors. */
const FLAG = '--notify';

/**
 * Parses `HOST:PORT[,HOST:PORT...]`. The port defaults to 53 (`192.0.2.1`, `[2001:db8::1]` or a
 * bare `2001:db8::1`); IPv6 with a port is bracketed (`[::1]:5300`). Hosts are IP literals, as
 * for every address Meridian takes. Throws MRD_ERR_CLI_USAGE (as parseHostPort does) on bad
 * input. Repeated targets are listed once.
 */
export function parseNotifyTargets(text: string): NotifyTarget[] {
  const out: NotifyTarget[] = [];
  const seen = new Set<string>();
  const entries = text.split(',').map((e) => e.trim());
  if (entries.every((e) => e === '')) throw createError('MRD_ERR_CLI_USAGE', `${FLAG} needs at least one HOST:PORT`);
  for (const entry of entries) {
    if (entry === '') throw createError('MRD_ERR_CLI_USAGE', `${FLAG} has an empty entry in "${text}"`);
    let withPort = entry;
    if (/^\[[^\]]*\]$/.test(entry)) withPort = `${entry}:${DEFAULT_PORT}`;
    else if (isIP(entry) === 6) withPort = `[${entry}]:${DEFAULT_PORT}`;
    else if (!entry.includes(':')) withPort = `${entry}:${DEFAULT_PORT}`;
    const hp: HostPort = parseHostPort(withPort, FLAG);
    if (hp.port === 0) throw createError('MRD_ERR_CLI_USAGE', `${FLAG}: port 0 cannot be notified, in "${entry}"`);
    const key = formatHostPort(canonicalHost(hp.host), hp.port);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ host: hp.host, port: hp.port });
  }
  return out;
}

/** One NOTIFY being sent to one target, until answered, superseded or given up. */
interface Pending {
  readonly key: string;
  readonly id: number;
  readonly zone: string;
  readonly serial: number;
  readonly target: NotifyTarget;
  readonly shown: string;
  /** The target's address in canonical form, to match the response's source (§3.6). */
  readonly address: string;
  readonly family: 4 | 6;
  readonly message: Buffer;
  tries: number;
  timer: NodeJS.Timeout | null;
}

export class Notifier {
  readonly #holder: SnapshotHolder;
  readonly #targets: readonly NotifyTarget[];
  readonly #log: Logger;
  readonly #delays: readonly number[];
  /** Zone origin key → the serial last seen (and notified, when it changed). */
  readonly #serials = new Map<string, number>();
  /** `origin|target` → the NOTIFY in flight for that pair. */
  readonly #pending = new Map<string, Pending>();
  /** Query ID → the NOTIFY in flight with it (IDs are unique across both sockets). */
  readonly #byId = new Map<number, Pending>();
  #udp4: dgram.Socket | null = null;
  #udp6: dgram.Socket | null = null;
  #unsubscribe: (() => void) | null = null;

  constructor(opts: NotifierOptions) {
    this.#holder = opts.holder;
    this.#targets = opts.targets.map((t) => ({ host: t.host, port: t.port }));
    this.#log = opts.log;
    const delays = opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    if (delays.length === 0 || delays.some((d) => !(d > 0))) throw new Error('retryDelaysMs must be one or more positive numbers');
    this.#delays = [...delays];
    for (const t of this.#targets) {
      if (isIP(t.host) === 0) throw new Error(`NOTIFY target "${t.host}" is not an IP address`);
    }
  }

  /** Remembers the serials being served now (without notifying) and watches for swaps. */
  start(): void {
    if (this.#unsubscribe) return;
    this.#serials.clear();
    for (const zone of this.#holder.current.catalog.zones) this.#serials.set(zone.origin, zone.serial);
    this.#unsubscribe = this.#holder.onSwap((snapshot) => {
      // The listener runs inside holder.swap(): nothing may escape from here.
      try {
        this.#onSwap(snapshot);
      } catch (err) {
        this.#log.warn({ err }, 'NOTIFY after a zone change failed');
      }
    });
  }

  /** Stops watching, drops every NOTIFY in flight and closes the sockets. */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    for (const p of this.#pending.values()) if (p.timer) clearTimeout(p.timer);
    this.#pending.clear();
    this.#byId.clear();
    const sockets = [this.#udp4, this.#udp6].filter((s): s is dgram.Socket => s !== null);
    this.#udp4 = null;
    this.#udp6 = null;
    await Promise.all(
      sockets.map(
        (s) =>
          new Promise<void>((resolve) => {
            try {
              s.close(() => resolve());
            } catch {
              resolve(); // already closed after an error
            }
          }),
      ),
    );
  }

  #onSwap(snapshot: Snapshot): void {
    const present = new Set<string>();
    for (const zone of snapshot.catalog.zones) {
      present.add(zone.origin);
      const before = this.#serials.get(zone.origin);
      if (before === zone.serial) continue;
      this.#serials.set(zone.origin, zone.serial);
      for (const target of this.#targets) this.#notify(zone, target);
    }
    // A zone no longer served is no longer notified: forget it and drop its retries.
    for (const origin of [...this.#serials.keys()]) {
      if (present.has(origin)) continue;
      this.#serials.delete(origin);
      for (const p of [...this.#pending.values()]) if (p.zone === origin) this.#drop(p);
    }
  }

  #notify(zone: Zone, target: NotifyTarget): void {
    const shown = formatHostPort(target.host, target.port);
    const key = `${zone.origin}|${formatHostPort(canonicalHost(target.host), target.port)}`;
    // A newer serial supersedes the NOTIFY still being retried for this zone and target.
    const old = this.#pending.get(key);
    if (old) this.#drop(old);
    const id = this.#newId();
    const p: Pending = {
      key,
      id,
      zone: zone.origin,
      serial: zone.serial,
      target,
      shown,
      address: canonicalHost(target.host),
      family: isIP(target.host) === 6 ? 6 : 4,
      message: encodeNotify(id, zone),
      tries: 0,
      timer: null,
    };
    this.#pending.set(key, p);
    this.#byId.set(id, p);
    this.#send(p);
  }

  /** Sends one try and schedules the next (or giving up) (RFC 1996 §3.6). */
  #send(p: Pending): void {
    if (this.#pending.get(p.key) !== p) return;
    const delay = this.#delays[p.tries]!;
    p.tries++;
    const socket = this.#socket(p.family);
    const failed = (err: unknown): void => this.#log.debug({ err, zone: keyToPresentation(p.zone), target: p.shown }, 'NOTIFY send failed');
    try {
      // A lost datagram is what the retries are for (§3.6), so a failed send only waits for the next.
      socket.send(p.message, p.target.port, p.target.host, (err) => {
        if (err) failed(err);
      });
    } catch (err) {
      failed(err);
    }
    this.#log.debug({ zone: keyToPresentation(p.zone), serial: p.serial, target: p.shown, try: p.tries }, 'NOTIFY sent');
    p.timer = setTimeout(() => {
      p.timer = null;
      if (this.#pending.get(p.key) !== p) return;
      if (p.tries < this.#delays.length) {
        this.#send(p);
        return;
      }
      // Too many copies sent without a response: a "timeout" in §3.6's words.
      this.#drop(p);
      this.#log.warn({ zone: keyToPresentation(p.zone), serial: p.serial, target: p.shown, tries: p.tries }, 'secondary did not answer NOTIFY; giving up');
    }, delay);
    p.timer.unref();
  }

  #drop(p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    p.timer = null;
    if (this.#pending.get(p.key) === p) this.#pending.delete(p.key);
    if (this.#byId.get(p.id) === p) this.#byId.delete(p.id);
  }

  #newId(): number {
    for (;;) {
      const id = randomInt(0, 0x10000);
      if (!this.#byId.has(id)) return id;
    }
  }

  /** The UDP socket for a family, created on first use, bound to the wildcard address. */
  #socket(family: 4 | 6): dgram.Socket {
    const existing = family === 4 ? this.#udp4 : this.#udp6;
    if (existing) return existing;
    const socket = dgram.createSocket(family === 4 ? { type: 'udp4' } : { type: 'udp6', ipv6Only: true });
    socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
    socket.on('error', (err) => {
      // A socket that failed (e.g. no IPv6 here) is closed; the next try makes a new one.
      this.#log.warn({ err, family }, 'NOTIFY socket failed');
      if (family === 4 && this.#udp4 === socket) this.#udp4 = null;
      if (family === 6 && this.#udp6 === socket) this.#udp6 = null;
      try {
        socket.close();
      } catch {
        // already closed
      }
    });
    // Sends made before the bind completes are queued by dgram.
    socket.bind({ port: 0, address: family === 4 ? '0.0.0.0' : '::' });
    socket.unref();
    if (family === 4) this.#udp4 = socket;
    else this.#udp6 = socket;
    return socket;
  }

  /**
   * A response ends the retries when it matches what §3.6 lists: query ID, QNAME, IP source
   * address and UDP source port; and (§3.3) it has QR set and opcode NOTIFY. Anything else on
   * the socket is ignored.
   */
  #onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    // The server's own codec (proto/wire.ts): a datagram that is not a well-formed response is ignored.
    const res = parseResponse(msg);
    if (typeof res === 'string' || res.opcode !== Opcode.NOTIFY) return;
    const p = this.#byId.get(res.id);
    if (!p) return;
    if (rinfo.port !== p.target.port || canonicalHost(rinfo.address) !== p.address) return;
    // The response repeats the request's question (§3.3, and the examples of §4); a response
    // naming another zone is not the one we wait for. Keys compare case-insensitively (RFC 4343).
    if (res.question && res.question.qkey !== p.zone) return;
    this.#drop(p);
    const fields = { zone: keyToPresentation(p.zone), serial: p.serial, target: p.shown };
    if (res.rcode === Rcode.NOERROR) this.#log.info(fields, 'secondary acknowledged NOTIFY');
    // An error is still a response: §3.6 stops the retries, but the operator should know.
    else this.#log.warn({ ...fields, rcode: res.rcode, rcode_name: rcodeName(res.rcode) }, 'secondary answered NOTIFY with an error');
  }
}

/**
 * Encodes a NOTIFY request (RFC 1996 §3) with proto/wire.ts {@link encodeQuery}: QR clear (§3.3),
 * opcode NOTIFY (4), AA set (as in the examples of §4), QDCOUNT 1 with <origin, IN, SOA> (§3.7,
 * §3.11: the SOA is the only NOTIFY event defined), the current SOA RR in the answer section as
 * a hint (§3.7; its owner a pointer to the question name), and no authority or additional records
 * (§3.9). Every other header bit is zero (§3.2). Sent over UDP (§3.4); when the SOA would not fit
 * a classic 512-octet datagram, the hint is left out (ANCOUNT=0 is allowed).
 */
function encodeNotify(id: number, zone: Zone): Buffer {
  const request = { id, qkey: zone.origin, qtype: RRType.SOA, opcode: Opcode.NOTIFY, aa: true };
  const withHint = encodeQuery({
    ...request,
    answer: [{ owner: zone.origin, type: RRType.SOA, ttlSeconds: zone.soa.ttlSeconds, rdatas: [zone.soa.rdatas[0]!] }],
  });
  return withHint.length <= CLASSIC_UDP_SIZE ? withHint : encodeQuery(request);
}

/** An address in one canonical spelling: IPv6 compressed and lowercase, IPv4-mapped unwrapped. */
function canonicalHost(host: string): string {
  if (isIP(host) !== 6) return host;
  let canonical = host.toLowerCase();
  try {
    canonical = new URL(`http://[${host}]/`).hostname.slice(1, -1);
  } catch {
    // keep the lowercase form
  }
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(canonical);
  if (dotted) return dotted[1]!;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return canonical;
}
