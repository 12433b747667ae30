/**
 * @module cli/etcd-options
 * From the values of the `--etcd*` options (cli/serve-options.ts `ETCD_CONNECTION_OPTIONS`) to an
 * {@link EtcdConnection}: the endpoints checked, the prefix normalised, the TLS files read and the
 * password taken from MERIDIAN_ETCD_PASSWORD. Every failure is a usage error naming its flag.
 */
import fs from 'node:fs';
import type { EtcdConnection, EtcdTls } from '../cluster/etcd-client.js';
import { usageError, withSource, type ResolvedOptions } from './options.js';
import { ETCD_CONNECTION_OPTIONS } from './serve-options.js';

/** Parses `--etcd URL[,URL…]`; throws MRD_ERR_CLI_USAGE on a bad URL. */
export function parseEtcdEndpoints(text: string): string[] {
  const urls = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (urls.length === 0) throw usageError('--etcd needs at least one URL');
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw usageError(`--etcd: "${u}" is not a URL such as http://127.0.0.1:2379`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`--etcd: "${u}" must be http:// or https://`);
  }
  return urls;
}

/** Normalises `--etcd-prefix`: a leading slash, no trailing one (default `/meridian`). */
export function normalisePrefix(prefix: string): string {
  const p = `/${prefix.replace(/^\/+|\/+$/g, '')}`;
  if (p === '/' || /\s/.test(p)) throw usageError(`--etcd-prefix must be a non-empty key prefix such as /meridian, not "${prefix}"`);
  return p;
}

/** Reads the TLS files named by `--etcd-ca/--etcd-cert/--etcd-key`; throws MRD_ERR_CLI_USAGE on a bad combination or an unreadable file. */
function etcdTlsOf(values: { 'etcd-ca'?: string | undefined; 'etcd-cert'?: string | undefined; 'etcd-key'?: string | undefined }): EtcdTls {
  const { 'etcd-ca': ca, 'etcd-cert': cert, 'etcd-key': key } = values;
  if ((cert === undefined) !== (key === undefined)) throw usageError('--etcd-cert and --etcd-key go together');
  const read = (file: string, flag: string): string => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw usageError(`${flag}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  return {
    ...(ca ? { ca: read(ca, '--etcd-ca') } : {}),
    ...(cert ? { cert: read(cert, '--etcd-cert') } : {}),
    ...(key ? { key: read(key, '--etcd-key') } : {}),
  };
}

/** The etcd connection the `--etcd*` options (ETCD_CONNECTION_OPTIONS in cli/serve-options.ts) describe; undefined without `--etcd`. Throws MRD_ERR_CLI_USAGE on bad options. */
export function etcdConnectionOf(values: {
  etcd?: string | undefined;
  'etcd-prefix': string;
  'etcd-ca'?: string | undefined;
  'etcd-cert'?: string | undefined;
  'etcd-key'?: string | undefined;
  'etcd-user'?: string | undefined;
}): EtcdConnection | undefined {
  if (values.etcd === undefined) return undefined;
  const auth = etcdAuthOf(values);
  return { endpoints: parseEtcdEndpoints(values.etcd), prefix: normalisePrefix(values['etcd-prefix']), tls: etcdTlsOf(values), ...(auth ? { auth } : {}) };
}

/** The etcd user from `--etcd-user` and the password from `MERIDIAN_ETCD_PASSWORD`. */
function etcdAuthOf(values: { 'etcd-user'?: string | undefined }, env: NodeJS.ProcessEnv = process.env): { user: string; password: string } | undefined {
  const user = values['etcd-user'];
  if (user === undefined) return undefined;
  const password = env['MERIDIAN_ETCD_PASSWORD'];
  if (!user || password === undefined) throw usageError('--etcd-user needs a user name, and its password in MERIDIAN_ETCD_PASSWORD');
  return { user, password };
}

/**
 * The etcd connection resolved options describe (a table with {@link ETCD_CONNECTION_OPTIONS});
 * undefined without `--etcd`. A bad value names where it came from (flag, variable or file).
 */
export function etcdConnectionFrom(r: ResolvedOptions): EtcdConnection | undefined {
  const v = r.values as Record<string, string | readonly string[] | undefined>;
  const str = (name: string): string | undefined => v[name] as string | undefined;
  return withSource(r, ETCD_CONNECTION_OPTIONS[0]!, () =>
    etcdConnectionOf({
      etcd: v['etcd'] === undefined ? undefined : (v['etcd'] as readonly string[]).join(','),
      'etcd-prefix': str('etcd-prefix')!,
      'etcd-ca': str('etcd-ca'),
      'etcd-cert': str('etcd-cert'),
      'etcd-key': str('etcd-key'),
      'etcd-user': str('etcd-user'),
    }),
  );
}
