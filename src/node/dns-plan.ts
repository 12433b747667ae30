/**
 * @module node/dns-plan
 * How a node answers DNS, decided once at start from `--udp-io` and `--workers` and what this
 * machine and this Node can do ({@link planDns}): which UDP path (node:dgram, or recvmmsg/sendmmsg
 * batches through the native part), and how many processes. Whatever is asked for but cannot be
 * had is said once, here, in the node's log (never once per worker); `--udp-io batched` that
 * cannot run is an error instead (MRD_ERR_UDP_IO).
 */
import { loadNative, nodeHasReusePort, type NativeUdp } from '../dns/native.js';
import type { UdpIo } from '../dns/server.js';
import { createError } from '../errors.js';
import type { Logger } from '../log.js';

export type UdpIoChoice = UdpIo | 'auto';

export interface DnsPlan {
  readonly udpIo: UdpIo;
  /** The native part, when it loaded (the batched path, and SO_REUSEPORT on Node 20). */
  readonly native: NativeUdp | null;
  /** DNS processes: 1 answers in the node's own process, more are worker processes. */
  readonly workers: number;
}

/** Decides the UDP path and the number of DNS processes; logs what it had to give up. */
export function planDns(asked: { udpIo: UdpIoChoice; workers: number }, log: Logger): DnsPlan {
  const load = loadNative();
  let udpIo: UdpIo = asked.udpIo === 'auto' ? (load.native ? 'batched' : 'dgram') : asked.udpIo;
  if (asked.udpIo === 'batched' && !load.native) throw createError('MRD_ERR_UDP_IO', load.reason);
  if (asked.udpIo === 'auto' && !load.native) {
    log.info({ reason: load.reason }, 'batched UDP path unavailable; answering UDP through node:dgram');
    udpIo = 'dgram';
  }
  let workers = Math.max(1, asked.workers);
  if (workers > 1 && !nodeHasReusePort() && !load.native) {
    log.warn(
      { workers_asked: workers, node: process.version, reason: load.reason },
      'DNS workers share the port with SO_REUSEPORT, which node:dgram and node:net offer from Node 22.12 and the native UDP part offers on any Node; neither is here, so DNS runs in this one process',
    );
    workers = 1;
  }
  return { udpIo, native: load.native, workers };
}
