/**
 * @module node/dns-worker
 * A DNS worker: the process `meridian serve --workers N` starts N of (node/workers.ts forks this
 * file). It answers DNS and nothing else: UDP and TCP on the node's DNS port, bound with
 * SO_REUSEPORT beside the other workers, from a snapshot it keeps equal to the node's
 * (state/replica.ts). It never reads zone files, etcd or health checks itself: everything comes
 * over the IPC channel (node/worker-protocol.ts), and each update is acknowledged once it is
 * served, which is what lets the node hold an API write until every worker serves it.
 *
 * It ignores SIGTERM and SIGINT (a service manager or a terminal may signal the whole process
 * group): the node drains it (`stop`), and when the node is gone (the channel closes) it stops
 * by itself, so a worker never outlives its node.
 */
import { QueryMetrics } from '../admin/query-metrics.js';
import { signatureCounters } from '../dnssec/signer.js';
import { loadNative } from '../dns/native.js';
import { DnsServer } from '../dns/server.js';
import { CookieJar } from '../dns/cookies.js';
import { CookieSecrets } from '../dns/cookie-secrets.js';
import { ResponseRateLimiter } from '../dns/rrl.js';
import { createLogger, type Logger } from '../log.js';
import { ReplicaHolder } from '../state/replica.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

function send(m: FromWorker): void {
  process.send?.(m);
}

function main(): void {
  if (!process.send) {
    process.stderr.write('dns-worker.js is started by `meridian serve --workers N`, not by hand\n');
    process.exit(2);
  }
  process.on('SIGTERM', () => undefined);
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  const replica = new ReplicaHolder();
  // Replaced by the node's secret in the first update (state/replica.ts), before any query.
  const secrets = new CookieSecrets();
  const counters = new QueryMetrics();
  let server: DnsServer | null = null;
  let log: Logger | null = null;
  let stopping = false;

  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const done = (): void => process.exit(0);
    // Queries are answered synchronously, so closing loses nothing in flight; TCP peers get 2 s.
    void (server?.stop() ?? Promise.resolve()).then(done, done);
    setTimeout(done, 5_000).unref();
  };

  process.on('disconnect', stop);
  process.on('message', (raw) => {
    const m = raw as ToWorker;
    switch (m.t) {
      case 'init': {
        const c = m.config;
        log = createLogger(c.logLevel).child({ component: 'dns', worker: c.worker });
        replica.onCookieSecret = (secret) => secrets.set(secret);
        try {
          replica.apply(m.state);
        } catch (err) {
          send({ t: 'failed', code: (err as { code?: string }).code ?? 'MRD_ERR_INTERNAL', message: (err as Error).message });
          process.exit(1);
        }
        const native = loadNative();
        const s = new DnsServer({
          host: c.host,
          port: c.port,
          holder: replica.holder,
          log,
          pipeline: c.pipeline,
          tcpIdleTimeoutMs: c.tcpIdleTimeoutMs,
          tcpMaxConnections: c.tcpMaxConnections,
          tcpMaxConnectionsPerClient: c.tcpMaxConnectionsPerClient,
          // The node's cookie secret (kept current by its updates) and this worker's share of the rate.
          cookies: new CookieJar(secrets),
          ...(c.rrl ? { rrl: new ResponseRateLimiter(c.rrl) } : {}),
          observe: counters.observeQuery,
          latency: counters.observeLatency,
          udpIo: c.udpIo,
          reusePort: true,
          udpRecvBufferBytes: c.udpRecvBufferBytes,
          native: native.native,
        });
        s.start().then(
          (addr) => {
            server = s;
            // Updates that came while binding were applied as they came; the last one is the
            // state this worker starts answering with.
            send({ t: 'ready', seq: applied, port: addr.port, udp: s.udpInfo() });
            if (stopping) void s.stop();
          },
          (err: Error & { code?: string; cause?: { code?: string } }) => {
            send({ t: 'failed', code: err.cause?.code ?? err.code ?? 'MRD_ERR_LISTEN', message: err.message });
            process.exit(1);
          },
        );
        applied = m.seq;
        return;
      }
      case 'state':
        try {
          replica.apply(m.update);
        } catch (err) {
          // The node built this; a worker that cannot is broken: let the node replace it.
          log?.error({ err }, 'cannot apply the node state; exiting');
          process.exit(1);
        }
        applied = m.seq;
        send({ t: 'applied', seq: m.seq });
        return;
      case 'stats': {
        const cpu = process.cpuUsage();
        send({
          t: 'stats',
          id: m.id,
          stats: {
            queries: counters.dump(),
            cpuSeconds: (cpu.user + cpu.system) / 1e6,
            residentBytes: process.memoryUsage.rss(),
            udp: server?.udpInfo() ?? null,
            signatures: { made: signatureCounters.made, cached: signatureCounters.cached },
          },
        });
        return;
      }
      case 'stop':
        stop();
        return;
    }
  });
}

let applied = 0;
main();
