/**
 * @module errors
 * Every error code Meridian raises, in one place. Each code has a message template, an HTTP
 * status where one applies, and a page entry in docs/errors.md (a test keeps the two in step).
 * Callers match on `err.code`, never on the class. Retired codes are never reused.
 *
 * Expected DNS outcomes (NXDOMAIN, NODATA, REFUSED) are values, not errors; these are for bad
 * input at the edges (zone files, config, CLI arguments) and for bugs.
 */

/** Where a problem was found in a zone or config file. */
export interface SourcePosition {
  file: string;
  /** 1-based line number, or 0 when the problem concerns the whole file. */
  line: number;
}

/** The base of every Meridian error: a stable `code` and `name`, and an optional `cause`. */
export class MeridianError extends Error {
  override name = 'MeridianError';
  readonly code: string;
  readonly statusCode: number;
  constructor(code: string, message: string, statusCode = 500, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.statusCode = statusCode;
  }
}

/** A problem in a zone file, naming the file, the line and (where known) the record. */
export class ZoneError extends MeridianError {
  override name = 'ZoneError';
  readonly file: string;
  readonly line: number;
  readonly record: string | undefined;
  constructor(code: string, message: string, at: SourcePosition, record?: string, options?: { cause?: unknown }) {
    super(code, message, 400, options);
    this.file = at.file;
    this.line = at.line;
    this.record = record;
  }

  /** `file:line: message` (the record, when known, is appended in quotes). */
  format(): string {
    const where = this.line > 0 ? `${this.file}:${this.line}` : this.file;
    return `${where}: ${this.message}${this.record ? ` (record: ${this.record})` : ''}`;
  }
}

interface CodeInfo {
  message: string;
  statusCode: number;
}

/**
 * The registry of codes. The keys are the codes; docs/errors.md documents each one.
 * `%s` in a message is replaced, in order, by the arguments given to {@link createError}.
 */
export const codes = {
  MRD_ERR_ZONE_SYNTAX: { message: 'syntax error: %s', statusCode: 400 },
  MRD_ERR_ZONE_RDATA: { message: 'bad %s record data: %s', statusCode: 400 },
  MRD_ERR_ZONE_NAME: { message: 'bad name: %s', statusCode: 400 },
  MRD_ERR_ZONE_TTL: { message: 'bad TTL: %s', statusCode: 400 },
  MRD_ERR_ZONE_TYPE: { message: 'unknown record type "%s"', statusCode: 400 },
  MRD_ERR_ZONE_CLASS: { message: 'unsupported class "%s" (only IN is served)', statusCode: 400 },
  MRD_ERR_ZONE_OUT_OF_ZONE: { message: 'record "%s" is outside the zone origin "%s"', statusCode: 400 },
  MRD_ERR_ZONE_NO_SOA: { message: 'zone "%s" has no SOA record at its apex', statusCode: 400 },
  MRD_ERR_ZONE_MULTIPLE_SOA: { message: 'zone "%s" has more than one SOA record', statusCode: 400 },
  MRD_ERR_ZONE_NO_NS: { message: 'zone "%s" has no NS records at its apex', statusCode: 400 },
  MRD_ERR_ZONE_CNAME_CONFLICT: { message: 'CNAME at "%s" cannot coexist with other data (RFC 1034 §3.6.2)', statusCode: 400 },
  MRD_ERR_ZONE_MULTIPLE_CNAME: { message: 'more than one CNAME at "%s" (RFC 2181 §10.1)', statusCode: 400 },
  MRD_ERR_ZONE_GLUE: { message: 'address record "%s" lies below the delegation "%s" but is not glue for it', statusCode: 400 },
  MRD_ERR_ZONE_DUPLICATE: { message: 'zone "%s" is already defined in %s', statusCode: 409 },
  MRD_ERR_ZONE_SCHEMA: { message: '%s', statusCode: 400 },
  MRD_ERR_ZONE_INCLUDE: { message: '$INCLUDE is not supported: %s', statusCode: 400 },
  MRD_ERR_ZONE_READ: { message: 'cannot read zone file: %s', statusCode: 500 },
  MRD_ERR_ZONE_TTL_MISMATCH: { message: 'records of one RRset at "%s" have different TTLs (RFC 2181 §5.2)', statusCode: 400 },
  MRD_ERR_POLICY_REFERENCE: { message: '%s: unknown %s "%s"', statusCode: 400 },
  MRD_ERR_POLICY_CYCLE: { message: 'policy records use each other in a loop: %s', statusCode: 400 },
  MRD_ERR_POLICY_LOCATION: { message: '%s: "%s" is not %s', statusCode: 400 },
  MRD_ERR_POLICY_DUPLICATE: { message: '%s: %s', statusCode: 400 },
  MRD_ERR_POLICY_NO_ENDPOINTS: { message: '%s: pool "%s" has no endpoints that can answer %s (%s)', statusCode: 400 },
  MRD_ERR_POLICY_CONFLICT: { message: 'policy record %s at "%s" conflicts with %s', statusCode: 400 },
  MRD_ERR_POLICY_NETWORK: { message: '%s: %s', statusCode: 400 },
  MRD_ERR_POLICY_ADDRESS: { message: '%s: "%s" is not an IPv4 or IPv6 address', statusCode: 400 },
  MRD_ERR_HEALTH_CHECK: { message: '%s: %s', statusCode: 400 },
  MRD_ERR_API_BAD_REQUEST: { message: '%s', statusCode: 400 },
  MRD_ERR_API_UNAUTHORIZED: { message: '%s', statusCode: 401 },
  MRD_ERR_API_FORBIDDEN: { message: '%s', statusCode: 403 },
  MRD_ERR_API_NOT_FOUND: { message: '%s', statusCode: 404 },
  MRD_ERR_API_CONFLICT: { message: '%s', statusCode: 409 },
  MRD_ERR_API_PRECONDITION: { message: '%s', statusCode: 412 },
  MRD_ERR_API_TOO_LARGE: { message: '%s', statusCode: 413 },
  MRD_ERR_API_MEDIA_TYPE: { message: '%s', statusCode: 415 },
  MRD_ERR_API_RATE_LIMITED: { message: '%s', statusCode: 429 },
  MRD_ERR_API_UNAVAILABLE: { message: '%s', statusCode: 503 },
  MRD_ERR_API_MASTER_FILE: { message: '%s', statusCode: 422 },
  MRD_ERR_ZONE_KEY: { message: 'the key names zone %s but its text is zone %s', statusCode: 400 },
  MRD_ERR_ETCD: { message: 'etcd: %s', statusCode: 503 },
  MRD_ERR_ETCD_AUTH: { message: 'etcd refuses this process\'s credentials: %s', statusCode: 503 },
  MRD_ERR_CHECKER_REFUSED: { message: 'the node refuses this checker\'s votes: %s', statusCode: 500 },
  MRD_ERR_CONFIG: { message: 'bad configuration: %s', statusCode: 500 },
  MRD_ERR_CLI_USAGE: { message: '%s', statusCode: 400 },
  MRD_ERR_LISTEN: { message: 'cannot listen on %s: %s', statusCode: 500 },
  MRD_ERR_CONFIG_FILE: { message: '%s', statusCode: 400 },
  MRD_ERR_CHECK_NO_ZONES: { message: 'no zone files found (*.zone, *.yaml, *.yml) in %s', statusCode: 400 },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof codes;

function fill(template: string, args: readonly unknown[]): string {
  let i = 0;
  return template.replace(/%s/g, () => String(args[i++] ?? ''));
}

/** Builds a {@link MeridianError} for `code` with the template filled in by `args`. */
export function createError(code: ErrorCode, ...args: unknown[]): MeridianError {
  const info: CodeInfo = codes[code];
  return new MeridianError(code, fill(info.message, args), info.statusCode);
}

/** Builds a {@link ZoneError} for `code` at a file position. */
export function zoneError(code: ErrorCode, at: SourcePosition, args: readonly unknown[], record?: string): ZoneError {
  const info: CodeInfo = codes[code];
  return new ZoneError(code, fill(info.message, args), at, record);
}
