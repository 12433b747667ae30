/**
 * @module dns/native
 * The optional native part of the UDP path (native/udp-batch.c, built by scripts/build-native.mjs
 * into build/udp-batch.node): recvmmsg/sendmmsg in batches for dns/udp-batched.ts, and sockets
 * bound with SO_REUSEPORT for DNS workers on a Node whose node:dgram and node:net cannot ask for
 * it (Node 20). {@link loadNative} loads it once and says why when it cannot; callers fall back to
 * node:dgram (and to one DNS process on Node 20).
 *
 * `MERIDIAN_NATIVE_UDP=PATH` loads another build (the sanitizer build of native/test-sanitizers.sh);
 * `MERIDIAN_NATIVE_UDP=off` refuses to load any (to run the node:dgram fallback on purpose).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** A batched socket made by {@link NativeUdp.attach}: the buffers it shares with JavaScript. */
export interface NativeBatchHandle {
  /** BATCH × SLOT octets: datagram i at i × SLOT (valid during the batch callback only). */
  readonly recv: ArrayBuffer;
  /** BATCH int32: datagram i's length. */
  readonly lens: ArrayBuffer;
  /** BATCH × ADDR_STRIDE octets: [0] family (4 or 6), [2..3] port, [4..19] address. */
  readonly addrs: ArrayBuffer;
  /** SEND_ARENA octets: answers, packed. */
  readonly send: ArrayBuffer;
  /** SEND_MAX × 3 int32: (slot answered, offset in send, length) per answer. */
  readonly meta: ArrayBuffer;
}

/** Counters of one batched socket since it was attached. */
export interface NativeBatchStats {
  readonly received: number;
  readonly sent: number;
  readonly batches: number;
  /** Answers the kernel refused for good. */
  readonly sendErrors: number;
  /** Answers dropped because the send queue (waiting for a full socket buffer) was full. */
  readonly sendDropped: number;
  readonly receiveErrors: number;
  /** Datagrams the kernel dropped because the receive buffer was full (SO_RXQ_OVFL). */
  readonly receiveDropped: number;
  /** Answers waiting for the socket to be writable. */
  readonly pending: number;
  /** 4 or 6 when replies leave from each query's destination address (wildcard bind), else 0. */
  readonly replySource: number;
}

/** What native/udp-batch.c exports. */
export interface NativeUdp {
  openUdp(
    host: string,
    port: number,
    reusePort: boolean,
    recvBufferBytes: number,
    sendBufferBytes: number,
  ): { fd: number; port: number; recvBufferBytes: number; sendBufferBytes: number };
  openTcp(host: string, port: number, reusePort: boolean): { fd: number; port: number };
  closeFd(fd: number): void;
  attach(fd: number, onBatch: (this: NativeBatchHandle, n: number) => number): NativeBatchHandle;
  flush(handle: NativeBatchHandle, count: number): void;
  close(handle: NativeBatchHandle): void;
  stats(handle: NativeBatchHandle): NativeBatchStats;
  readonly BATCH: number;
  readonly SLOT: number;
  readonly ADDR_STRIDE: number;
  readonly SEND_ARENA: number;
  readonly SEND_MAX: number;
  readonly PENDING_MAX: number;
}

export type NativeLoad = { readonly native: NativeUdp; readonly path: string } | { readonly native: null; readonly reason: string };

let loaded: NativeLoad | undefined;

/** The built addon's path: build/ at the repository (or package) root, beside src/ and dist/. */
export const NATIVE_PATH = fileURLToPath(new URL('../../build/udp-batch.node', import.meta.url));

/** Loads the addon once; the reason it is unavailable otherwise (never throws). */
export function loadNative(): NativeLoad {
  if (loaded) return loaded;
  const env = process.env['MERIDIAN_NATIVE_UDP'];
  if (env === 'off') return (loaded = { native: null, reason: 'MERIDIAN_NATIVE_UDP=off' });
  const file = env && env !== '' ? env : NATIVE_PATH;
  if (process.platform !== 'linux') return (loaded = { native: null, reason: `recvmmsg/sendmmsg are Linux-only (this is ${process.platform})` });
  if (!fs.existsSync(file)) return (loaded = { native: null, reason: `${file} is not built (a C compiler was missing at npm run build)` });
  try {
    const native = createRequire(import.meta.url)(file) as NativeUdp;
    if (typeof native.attach !== 'function' || native.BATCH <= 0) return (loaded = { native: null, reason: `${file} is not Meridian's UDP addon` });
    return (loaded = { native, path: file });
  } catch (err) {
    return (loaded = { native: null, reason: `${file} does not load: ${(err as Error).message.split('\n')[0]}` });
  }
}

/**
 * True when this Node's node:dgram and node:net take `reusePort` (Node 22.12+, 23.1+), so DNS
 * workers can share a port without the addon.
 */
export function nodeHasReusePort(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}
