/** BIND named as a real secondary in tests: its configuration. */

/** A named.conf for a secondary on 127.0.0.1:`port` that transfers `zones` from 127.0.0.1:`primaryPort`. */
export function namedSecondaryConf(dir: string, port: number, primaryPort: number, zones: readonly string[]): string {
  const options = `options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
};
controls { };
`;
  return options + zones.map((z) => `zone "${z}" {
  type secondary;
  primaries { 127.0.0.1 port ${primaryPort}; };
  file "${dir}/${z}.db";
};
`).join('');
}
