/**
 * @module node/worker-protocol
 * The messages between a node (node/workers.ts) and its DNS workers (node/dns-worker.ts), over
 * the IPC channel of child_process.fork with `serialization: 'advanced'` (structured clone).
 * Every message has a `t`.
 *
 *   node → worker   init (once, first)   config and the whole state (state/replica.ts), seq
 *                   state                what changed, seq (one more than the last)
 *                   stats                a request for the worker's counters, id
 *                   stop                 drain and exit
 *   worker → node   ready                bound and serving, seq applied, the port
 *                   failed               could not start (the reason); exits
 *                   applied              state seq applied
 *                   stats                the counters asked for, id
 */
import type { RrlOptions } from '../dns/rrl.js';
import type { UdpInfo, UdpIo } from '../dns/server.js';
import type { PipelineOptions } from '../dns/pipeline.js';
import type { QueryMetricsDump } from '../admin/query-metrics.js';
import type { ReplicaUpdate } from '../state/replica.js';

/** How a worker serves: everything but the state. */
export interface WorkerConfig {
  /** 1 to N; in every log line the worker writes. */
  readonly worker: number;
  readonly host: string;
  /** The port every worker binds (with SO_REUSEPORT); the node picked it (never 0 here). */
  readonly port: number;
  readonly pipeline: PipelineOptions;
  readonly tcpIdleTimeoutMs: number;
  readonly tcpMaxConnections: number;
  readonly udpIo: UdpIo;
  readonly udpRecvBufferBytes: number;
  readonly logLevel: string;
  /** Per-client TCP connection cap (dns/tcp.ts), per worker. */
  readonly tcpMaxConnectionsPerClient: number;
  /** Response rate limiting in this worker (dns/rrl.ts), its share of the node's rate; null: off. */
  readonly rrl: RrlOptions | null;
}

export type ToWorker =
  | { readonly t: 'init'; readonly seq: number; readonly config: WorkerConfig; readonly state: ReplicaUpdate }
  | { readonly t: 'state'; readonly seq: number; readonly update: ReplicaUpdate }
  | { readonly t: 'stats'; readonly id: number }
  | { readonly t: 'stop' };

/** What a worker reports about itself when asked. */
export interface WorkerStats {
  readonly queries: QueryMetricsDump;
  readonly cpuSeconds: number;
  readonly residentBytes: number;
  readonly udp: UdpInfo | null;
  /** RRSIGs put into answers (dnssec/signer.ts `signatureCounters`). */
  readonly signatures: { readonly made: number; readonly cached: number };
}

export type FromWorker =
  | { readonly t: 'ready'; readonly seq: number; readonly port: number; readonly udp: UdpInfo | null }
  | { readonly t: 'failed'; readonly code: string; readonly message: string }
  | { readonly t: 'applied'; readonly seq: number }
  | { readonly t: 'stats'; readonly id: number; readonly stats: WorkerStats };
