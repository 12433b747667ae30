/**
 * @module cli/serve-options
 * The one table of `meridian serve` options ({@link SERVE_OPTIONS}): names, types, defaults, help
 * and environment variables. `serve --help`, the keys of `serve --config FILE`, the
 * `MERIDIAN_<OPTION>` variables and the shipped example (meridian.example.yaml, checked by a test)
 * all come from it. Deploy manifests and tests cross-check flags against it, so it is exported as
 * data. Also the `meridian checker` table ({@link CHECKER_OPTIONS}), which shares the etcd options,
 * and the etcd connection options `meridian cluster` takes too ({@link ETCD_CONNECTION_OPTIONS}).
 */
import { option, type OptionSpec } from './options.js';
import { LOG_LEVELS } from '../log.js';
import { DEFAULT_RRL } from '../dns/rrl.js';
import { DEFAULT_TCP_PER_CLIENT } from '../dns/tcp.js';

const CLUSTER = 'Cluster mode (docs/operations.md, "Running a cluster")';
const ABUSE = 'Abuse (docs/operations.md, "Safe on the open Internet")';
const ADMIN_TLS = 'Admin API security (docs/operations.md, "TLS for the admin API")';

/**
 * How to reach etcd: the options of `serve`, `checker` and `cluster` (cli/etcd-options.ts turns
 * their values into a connection; the password comes from MERIDIAN_ETCD_PASSWORD only).
 */
export const ETCD_CONNECTION_OPTIONS: readonly OptionSpec[] = [
  option({
    name: 'etcd',
    type: 'list',
    arg: 'URL[,URL…]',
    group: CLUSTER,
    help: 'take zones, overrides, the latency table and votes from etcd instead of --zones, and share them with every other node (a YAML list in a config file)',
  }),
  option({ name: 'etcd-prefix', type: 'string', arg: 'PREFIX', group: CLUSTER, default: '/meridian', help: "the cluster's key prefix" }),
  option({ name: 'etcd-ca', type: 'path', arg: 'FILE', group: CLUSTER, help: "CA certificate (PEM) that signed etcd's certificate (https://)" }),
  option({ name: 'etcd-cert', type: 'path', arg: 'FILE', group: CLUSTER, help: 'client certificate (PEM), when etcd requires one' }),
  option({ name: 'etcd-key', type: 'path', arg: 'FILE', group: CLUSTER, help: "the client certificate's private key (PEM)" }),
  option({ name: 'etcd-user', type: 'string', arg: 'NAME', group: CLUSTER, help: 'an etcd user (etcd auth); the password comes from MERIDIAN_ETCD_PASSWORD' }),
];

/** The etcd options of `serve` and `checker`: the connection, and this process's membership. */
export const ETCD_OPTIONS: readonly OptionSpec[] = [
  ...ETCD_CONNECTION_OPTIONS,
  option({ name: 'node-id', type: 'string', arg: 'ID', group: CLUSTER, help: "this process's id in the cluster; default <hostname>-<pid>" }),
  option({
    name: 'lease-ttl',
    type: 'integer',
    arg: 'SECONDS',
    group: CLUSTER,
    default: 5,
    min: 1,
    max: 600,
    help: "TTL of the checker election and membership leases: a dead node's region checks move to a standby within it",
  }),
];

const LOG_LEVEL = option({ name: 'log-level', type: 'choice', arg: 'LEVEL', choices: LOG_LEVELS, default: 'info', help: `log level: ${LOG_LEVELS.join('|')}` });

/** Every `meridian serve` option, in `--help` order. */
export const SERVE_OPTIONS: readonly OptionSpec[] = [
  option({ name: 'zones', type: 'path', arg: 'DIR', default: './zones', help: 'zone files to serve (*.zone, *.yaml); the directory must exist' }),
  option({ name: 'dns', type: 'host-port', arg: 'HOST:PORT', default: '127.0.0.1:5353', help: 'DNS address, UDP and TCP (port 0 picks a free port)' }),
  option({ name: 'admin', type: 'host-port', arg: 'HOST:PORT', default: '127.0.0.1:8053', help: 'admin API address' }),
  option({ name: 'region', type: 'string', arg: 'ID', default: 'local', help: "the region this node's health checker votes for" }),
  option({ name: 'state', type: 'path', arg: 'DIR', help: 'keep health votes here for a warm start (docs/health.md); default: none' }),
  option({ name: 'latency', type: 'path', arg: 'FILE', help: 'a latency table file, reloaded when it changes and on SIGHUP (docs/policies/latency.md)' }),
  option({
    name: 'geoip-db',
    type: 'path',
    arg: 'FILE',
    help: 'a MaxMind DB file (GeoIP2/GeoLite2 City or Country, DB-IP) to locate clients with instead of the embedded geoip-lite; reloaded when it changes and on SIGHUP, a bad file keeps the one in force (docs/policies/geo.md)',
  }),
  option({
    name: 'no-checks',
    type: 'boolean',
    default: false,
    help: 'do not run health checks from this node (votes still come from checkers)',
    alias: { key: 'checks', hint: 'write "no-checks: true"' },
  }),
  option({
    name: 'tokens',
    type: 'path',
    arg: 'FILE',
    // MERIDIAN_TOKENS already holds tokens themselves ("name:role:token,..."), so the file is MERIDIAN_TOKENS_FILE.
    env: 'MERIDIAN_TOKENS_FILE',
    help: 'admin API bearer tokens: a YAML/JSON list of { name, role: read|write, token }, re-read on SIGHUP (also MERIDIAN_TOKENS="name:role:token,..."); without any, reads are open, writes need the token the node makes (--admin-token-file), and the admin API must listen on loopback',
  }),
  option({ name: 'protect-probes', type: 'boolean', default: false, help: 'require a token for /livez, /readyz and /metrics too' }),
  option({ name: 'notify', type: 'list', arg: 'HOST:PORT[,…]', help: "send DNS NOTIFY (RFC 1996) to these secondaries when a zone's serial changes" }),
  option({ name: 'max-udp-payload', type: 'integer', arg: 'N', default: 1232, min: 512, max: 65535, help: 'largest UDP answer in octets (RFC 6891)' }),
  option({ name: 'tcp-idle-timeout', type: 'integer', arg: 'MS', default: 10_000, min: 1, max: 3_600_000, help: 'close idle TCP connections after MS' }),
  option({ name: 'tcp-max-connections', type: 'integer', arg: 'N', default: 1000, min: 1, max: 1_000_000, help: 'concurrent TCP connections' }),
  option({
    name: 'workers',
    type: 'string',
    arg: 'N|auto',
    default: '1',
    help: 'DNS worker processes sharing the DNS port (SO_REUSEPORT); auto: one per core available; 1 answers DNS in the node process itself (docs/operations.md, "DNS workers")',
  }),
  option({
    name: 'udp-io',
    type: 'choice',
    arg: 'MODE',
    choices: ['auto', 'batched', 'dgram'],
    default: 'auto',
    help: 'how UDP moves: batched (recvmmsg/sendmmsg through the native part), dgram (node:dgram), auto: batched when the native part is built, else dgram',
  }),
  option({
    name: 'udp-recv-buffer',
    type: 'integer',
    arg: 'BYTES',
    default: 4 * 1024 * 1024,
    min: 0,
    max: 1 << 30,
    help: 'SO_RCVBUF asked for each UDP socket, room for bursts and GC pauses (capped by net.core.rmem_max); 0: the system default',
  }),
  option({
    name: 'tcp-max-connections-per-client',
    type: 'integer',
    arg: 'N',
    default: DEFAULT_TCP_PER_CLIENT,
    min: 1,
    max: 1_000_000,
    help: 'concurrent TCP connections of one client (IPv4 address, IPv6 /64); at most --tcp-max-connections',
  }),
  option({
    name: 'no-cache',
    type: 'boolean',
    default: false,
    help: 'disable the encoded-answer cache (for debugging)',
    alias: { key: 'cache', hint: 'write "no-cache: true"' },
  }),
  LOG_LEVEL,
  option({
    name: 'rrl-rate',
    type: 'integer',
    arg: 'N',
    group: ABUSE,
    default: DEFAULT_RRL.ratePerSecond,
    min: 0,
    max: 1_000_000,
    help: 'response rate limiting: UDP answers a second per client network and answer (name and type, zone for NXDOMAIN, …); 0 turns it off',
  }),
  option({
    name: 'rrl-slip',
    type: 'integer',
    arg: 'N',
    group: ABUSE,
    default: DEFAULT_RRL.slip,
    min: 0,
    max: 10,
    help: 'every Nth limited answer goes out as TC=1 (BADCOOKIE to a client with a cookie) so a real client retries; 0 drops them all',
  }),
  option({
    name: 'rrl-window',
    type: 'integer',
    arg: 'SECONDS',
    group: ABUSE,
    default: DEFAULT_RRL.windowSeconds,
    min: 1,
    max: 3600,
    help: 'how long a flood stays limited after it falls below the rate (the debt a bucket may build)',
  }),
  option({
    name: 'rrl-exempt',
    type: 'list',
    arg: 'CIDR[,…]|none',
    group: ABUSE,
    default: DEFAULT_RRL.exempt.join(','),
    help: 'sources never rate-limited (loopback cannot be spoofed from the network); "none" for no exemption',
  }),
  option({
    name: 'rrl-ipv4-prefix',
    type: 'integer',
    arg: 'BITS',
    group: ABUSE,
    default: DEFAULT_RRL.ipv4Prefix,
    min: 8,
    max: 32,
    help: 'an IPv4 client network for rate limiting',
  }),
  option({
    name: 'rrl-ipv6-prefix',
    type: 'integer',
    arg: 'BITS',
    group: ABUSE,
    default: DEFAULT_RRL.ipv6Prefix,
    min: 16,
    max: 128,
    help: 'an IPv6 client network for rate limiting',
  }),
  option({
    name: 'admin-tls-cert',
    type: 'path',
    arg: 'FILE',
    group: ADMIN_TLS,
    help: 'serve the admin API over HTTPS with this PEM certificate (chain), with --admin-tls-key; re-read when it changes and on SIGHUP',
  }),
  option({ name: 'admin-tls-key', type: 'path', arg: 'FILE', group: ADMIN_TLS, help: "the admin certificate's PEM private key" }),
  option({
    name: 'admin-trusted-network',
    type: 'boolean',
    group: ADMIN_TLS,
    default: false,
    help: 'let the admin API listen beyond loopback over plain HTTP: the network to it is trusted (without TLS or this, serve refuses)',
  }),
  option({
    name: 'admin-token-file',
    type: 'path',
    arg: 'FILE',
    group: ADMIN_TLS,
    help: 'with no --tokens: where the node keeps the write token it makes (mode 0600); default admin-token in --state, else .admin-token in --zones',
  }),
  ...ETCD_OPTIONS,
];

/** Every `meridian checker` option. */
export const CHECKER_OPTIONS: readonly OptionSpec[] = [
  option({ name: 'region', type: 'string', arg: 'ID', help: 'the region this checker votes for (required)' }),
  option({ name: 'node', type: 'string', arg: 'URL', help: 'admin API of the node that judges health, e.g. http://127.0.0.1:8053' }),
  option({ name: 'zones', type: 'path', arg: 'DIR', default: './zones', help: 'zone files whose checks to run (with --node)' }),
  option({
    name: 'token',
    type: 'string',
    arg: 'TOKEN',
    help: "bearer token for the node's admin API; default: on this machine, the token the node made (docs/operations.md)",
  }),
  option({ name: 'node-ca', type: 'path', arg: 'FILE', help: "CA certificate (PEM) that signed the node's admin certificate (https://)" }),
  LOG_LEVEL,
  ...ETCD_OPTIONS,
];
