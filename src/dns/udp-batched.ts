/**
 * @module dns/udp-batched
 * The UDP transport over recvmmsg/sendmmsg: the same job as dns/udp.ts (datagrams in, answers out,
 * framing only, every message through dns/fallback.ts `answerMessage` with the snapshot current at
 * its arrival), with the per-datagram cost of node:dgram taken out. The native part
 * (native/udp-batch.c, loaded by dns/native.ts) is woken by libuv when the socket is readable,
 * receives up to 64 datagrams with one system call and calls {@link listenBatchedUdp}'s batch
 * function once for all of them; the answers are copied into a send arena and leave with one
 * sendmmsg. Per datagram, JavaScript gets a view of the datagram and the client address as
 * octets ({@link DatagramContext}); the address is turned into text only when something asks for
 * the text (a zone transfer's ACL, a log line), and policies read the octets directly
 * (pipeline.ts `clientOf`).
 *
 * A datagram is a view of the receive arena, valid only while `answerMessage` runs: nothing on
 * the query path keeps the message (answers are encoded into buffers of their own), and a new
 * hook on the path that wants to must copy it.
 *
 * Behaviour is the node:dgram transport's, checked by the same suites (the authoritative table
 * and the fuzz test run against both), plus one thing node:dgram cannot do: on a socket bound to
 * a wildcard address each reply leaves from the address its query was sent to (IP_PKTINFO;
 * RFC 1122 §4.1.3.5), so a multi-homed host answers resolvers from the address they asked.
 */
import type { Logger } from 'pino';
import { answerMessage } from './fallback.js';
import type { NativeBatchHandle } from './native.js';
import type { QueryContext } from './pipeline.js';
import type { UdpOptions, UdpTransport } from './udp.js';

/**
 * The query context of the datagram being answered: one object for a whole socket, moved from
 * slot to slot ({@link at}), so a datagram costs no context of its own. The address text and the
 * octet view are made on first use, per datagram.
 */
export class DatagramContext implements QueryContext {
  readonly transport = 'udp' as const;
  readonly #addrs: Uint8Array;
  readonly #stride: number;
  /** Per slot, made once: a view of its 16 address octets (policies read the first 4 for IPv4). */
  readonly #views: { family: 4 | 6; bytes: Uint8Array }[];
  #slot = 0;
  #base = 0;
  #text: string | undefined;

  constructor(addrs: Uint8Array, stride: number) {
    this.#addrs = addrs;
    this.#stride = stride;
    this.#views = Array.from({ length: Math.floor(addrs.length / stride) }, (_, i) => ({
      family: 4 as 4 | 6,
      bytes: addrs.subarray(i * stride + 4, i * stride + 20),
    }));
  }

  /** Points the context at datagram `slot` of the current batch. */
  at(slot: number): void {
    this.#slot = slot;
    this.#base = slot * this.#stride;
    this.#text = undefined;
  }

  get remoteAddress(): string {
    return (this.#text ??= formatAddress(this.#addrs, this.#base));
  }

  get remoteBytes(): { family: 4 | 6; bytes: Uint8Array } {
    const v = this.#views[this.#slot]!;
    v.family = this.#addrs[this.#base] === 4 ? 4 : 6;
    return v;
  }

  /** The source port of the datagram. */
  get remotePort(): number {
    return (this.#addrs[this.#base + 2]! << 8) | this.#addrs[this.#base + 3]!;
  }
}

/**
 * An address in the text form node:dgram reports: dotted quad for IPv4; for IPv6 the RFC 5952
 * form (lower case, the longest run of two or more zero groups as `::`), `::ffff:a.b.c.d` when
 * IPv4-mapped. `a[base]` is the family (4 or 6), the address starts at `base + 4`.
 */
export function formatAddress(a: Uint8Array, base: number): string {
  const o = base + 4;
  if (a[base] === 4) return `${a[o]}.${a[o + 1]}.${a[o + 2]}.${a[o + 3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((a[o + 2 * i]! << 8) | a[o + 2 * i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${a[o + 12]}.${a[o + 13]}.${a[o + 14]}.${a[o + 15]}`;
  // RFC 5952 §4.2: the longest run of zero groups (the first of equals), if two or more long.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

/** Binds a UDP socket with the native part and serves queries on it in batches. Resolves once bound. */
export function listenBatchedUdp(opts: UdpOptions): Promise<UdpTransport> {
  const native = opts.native;
  if (!native) return Promise.reject(new Error('the native UDP part is not loaded'));
  let sock: ReturnType<typeof native.openUdp>;
  try {
    sock = native.openUdp(opts.host, opts.port, opts.reusePort ?? false, opts.recvBufferBytes ?? 0, 0);
  } catch (err) {
    return Promise.reject(err);
  }
  const { SLOT, SEND_ARENA, SEND_MAX, ADDR_STRIDE } = native;
  const log: Logger = opts.log;
  let recv: Buffer;
  let lens: Int32Array;
  let send: Buffer;
  let meta: Int32Array;
  let ctx: DatagramContext;
  let handle: NativeBatchHandle;

  let out = 0;
  let off = 0;
  /** Copies one answer (to datagram `slot`) into the send arena, flushing first when it is full. */
  const push = (slot: number, m: Buffer): void => {
    const len = m.length;
    if (out === SEND_MAX || off + len > SEND_ARENA) {
      native.flush(handle, out);
      out = 0;
      off = 0;
    }
    send.set(m, off);
    const k = out * 3;
    meta[k] = slot;
    meta[k + 1] = off;
    meta[k + 2] = len;
    out++;
    off += len;
  };

  const latency = opts.latency;
  /**
   * Answers the batch's `n` datagrams; returns how many answers it left in the send arena. Every
   * datagram of a batch arrived by the time it was received, so each answer's time for metrics
   * runs from the batch's start: what the later ones waited for the earlier ones counts too.
   */
  const onBatch = (n: number): number => {
    out = 0;
    off = 0;
    const t0 = latency ? performance.now() : 0;
    for (let i = 0; i < n; i++) {
      const start = i * SLOT;
      ctx.at(i);
      const res = answerMessage(recv.subarray(start, start + lens[i]!), ctx, opts.env, log);
      if (latency) latency((performance.now() - t0) / 1000);
      if (res === null) continue;
      if (Array.isArray(res)) for (const m of res) push(i, m);
      else push(i, res);
    }
    return out;
  };

  try {
    handle = native.attach(sock.fd, onBatch);
  } catch (err) {
    native.closeFd(sock.fd);
    return Promise.reject(err);
  }
  recv = Buffer.from(handle.recv);
  lens = new Int32Array(handle.lens);
  send = Buffer.from(handle.send);
  meta = new Int32Array(handle.meta);
  ctx = new DatagramContext(new Uint8Array(handle.addrs), ADDR_STRIDE);
  let closed = false;
  const transport: UdpTransport = {
    address: () => ({ address: opts.host, port: sock.port }),
    getRecvBufferSize: () => sock.recvBufferBytes,
    stats: () => native.stats(handle),
    close(callback?: () => void): void {
      if (!closed) {
        closed = true;
        native.close(handle);
      }
      if (callback) setImmediate(callback);
    },
  };
  return Promise.resolve(transport);
}
