/**
 * @module errors
 * Every error code Meridian raises, in one place: the registry {@link codes} gives each code its
 * message template, its HTTP status and its title (the admin API problem's `title`, unless an
 * occurrence is named more precisely), and docs/errors.md has a page entry for each (a test
 * keeps the two in step, and another that every code is raised somewhere in src/).
 * `ErrorCode` is the union of the registered codes, and {@link createError} is type-checked: the
 * arguments are the template's `%s` parameters, one per `%s`. Domain code raises codes; only
 * admin/problem.ts turns a code into an HTTP status and title. Callers match on `err.code`, never
 * on the class or the message. Retired codes are never reused.
 *
 * Expected DNS outcomes (NXDOMAIN, NODATA, REFUSED) are values, not errors; these are for bad
 * input at the edges (zone files, config, CLI arguments, admin API requests) and for bugs.
 */

/** Where a problem was found in a zone or config file. */
export interface SourcePosition {
  file: string;
  /** 1-based line number, or 0 when the problem concerns the whole file. */
  line: number;
}

/** One field of bad input: the `errors[]` entries of an admin API problem. */
export interface FieldProblem {
  field?: string | undefined;
  code?: ErrorCode;
  message: string;
  line?: number;
}

/**
 * The base of every Meridian error: a registered `code`, its message, and, for bad input through
 * the admin API, the fields at fault. The status and title come from the registry.
 */
export class MeridianError<C extends ErrorCode = ErrorCode> extends Error {
  override name = 'MeridianError';
  readonly code: C;
  /** Each field at fault (bad input); empty otherwise. */
  readonly errors: readonly FieldProblem[];
  #title: string | undefined;
  constructor(code: C, message: string, options?: { cause?: unknown; errors?: readonly FieldProblem[] }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
    this.errors = options?.errors ?? [];
  }

  /** The registry's HTTP status for this code. */
  get statusCode(): number {
    return codes[this.code].statusCode;
  }

  /**
   * The admin API problem's title: the registry's for this code, unless this occurrence was
   * given a more precise summary with {@link titled} (the API's titles predate the registry).
   */
  get title(): string {
    return this.#title ?? codes[this.code].title;
  }

  /** Names this occurrence more precisely than its code's title ("No such zone"); returns it. */
  titled(title: string): this {
    this.#title = title;
    return this;
  }
}

/** A problem in a zone file, naming the file, the line and (where known) the record. */
export class ZoneError<C extends ErrorCode = ErrorCode> extends MeridianError<C> {
  override name = 'ZoneError';
  readonly file: string;
  readonly line: number;
  readonly record: string | undefined;
  constructor(code: C, message: string, at: SourcePosition, record?: string, options?: { cause?: unknown }) {
    super(code, message, options);
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
  /** The message; each `%s` is one argument of {@link createError}, in order. */
  message: string;
  /** The HTTP status the admin API answers with. */
  statusCode: number;
  /** The admin API problem's `title`. */
  title: string;
}

/**
 * The registry of codes. The keys are the codes; docs/errors.md documents each one.
 * `%s` in a message is replaced, in order, by the arguments given to {@link createError}.
 */
export const codes = {
  MRD_ERR_ZONE_SYNTAX: { message: 'syntax error: %s', statusCode: 400, title: 'The zone file does not parse' },
  MRD_ERR_ZONE_RDATA: { message: 'bad %s record data: %s', statusCode: 400, title: 'Bad record data' },
  MRD_ERR_ZONE_NAME: { message: 'bad name: %s', statusCode: 400, title: 'Bad domain name' },
  MRD_ERR_ZONE_TTL: { message: 'bad TTL: %s', statusCode: 400, title: 'Bad TTL' },
  MRD_ERR_ZONE_TYPE: { message: 'unknown record type "%s"', statusCode: 400, title: 'Unknown record type' },
  MRD_ERR_ZONE_CLASS: { message: 'unsupported class "%s" (only IN is served)', statusCode: 400, title: 'Unsupported class' },
  MRD_ERR_ZONE_OUT_OF_ZONE: { message: 'record "%s" is outside the zone origin "%s"', statusCode: 400, title: 'Record outside the zone' },
  MRD_ERR_ZONE_NO_SOA: { message: 'zone "%s" has no SOA record at its apex', statusCode: 400, title: 'No SOA at the zone apex' },
  MRD_ERR_ZONE_MULTIPLE_SOA: { message: 'zone "%s" has more than one SOA record', statusCode: 400, title: 'More than one SOA' },
  MRD_ERR_ZONE_NO_NS: { message: 'zone "%s" has no NS records at its apex', statusCode: 400, title: 'No NS at the zone apex' },
  MRD_ERR_ZONE_CNAME_CONFLICT: { message: 'CNAME at "%s" cannot coexist with other data (RFC 1034 §3.6.2)', statusCode: 400, title: 'CNAME beside other data' },
  MRD_ERR_ZONE_MULTIPLE_CNAME: { message: 'more than one CNAME at "%s" (RFC 2181 §10.1)', statusCode: 400, title: 'More than one CNAME' },
  MRD_ERR_ZONE_GLUE: {
    message: 'address record "%s" lies below the delegation "%s" but is not glue for it',
    statusCode: 400,
    title: 'Data below a delegation',
  },
  MRD_ERR_ZONE_DUPLICATE: { message: 'zone "%s" is already defined in %s', statusCode: 409, title: 'The zone is defined twice' },
  MRD_ERR_ZONE_SCHEMA: { message: '%s', statusCode: 400, title: 'The zone document is not valid' },
  MRD_ERR_ZONE_INCLUDE: { message: '$INCLUDE is not supported: %s', statusCode: 400, title: '$INCLUDE is not supported' },
  MRD_ERR_ZONE_READ: { message: 'cannot read zone file: %s', statusCode: 500, title: 'The zone file cannot be read' },
  MRD_ERR_ZONE_TTL_MISMATCH: { message: '%s RRset at "%s" has differing TTLs (RFC 2181 §5.2); using %s', statusCode: 400, title: 'RRset TTLs differ' },
  MRD_ERR_ZONE_DNSSEC_RECORD: {
    message: 'a zone that Meridian signs cannot hold %s records ("%s"): Meridian makes its DNSSEC records itself',
    statusCode: 400,
    title: 'DNSSEC records in a zone Meridian signs',
  },
  MRD_ERR_POLICY_REFERENCE: { message: '%s: unknown %s "%s"', statusCode: 400, title: 'Unknown reference' },
  MRD_ERR_POLICY_CYCLE: { message: 'policy records use each other in a loop: %s', statusCode: 400, title: 'Policy records use each other in a loop' },
  MRD_ERR_POLICY_LOCATION: { message: '%s: "%s" is not %s', statusCode: 400, title: 'Bad location' },
  MRD_ERR_POLICY_DUPLICATE: { message: '%s: %s', statusCode: 400, title: 'Defined twice' },
  MRD_ERR_POLICY_NO_ENDPOINTS: { message: '%s: pool "%s" has no endpoints that can answer %s (%s)', statusCode: 400, title: 'No endpoint can answer' },
  MRD_ERR_POLICY_CONFLICT: { message: 'policy record %s at "%s" conflicts with %s', statusCode: 400, title: 'Policy record conflicts with other data' },
  MRD_ERR_POLICY_NETWORK: { message: '%s: %s', statusCode: 400, title: 'Bad network' },
  MRD_ERR_POLICY_ADDRESS: { message: '%s: "%s" is not an IPv4 or IPv6 address', statusCode: 400, title: 'Bad endpoint address' },
  MRD_ERR_HEALTH_CHECK: { message: '%s: %s', statusCode: 400, title: 'Bad health check' },
  MRD_ERR_API_BAD_REQUEST: { message: '%s', statusCode: 400, title: 'The request is not valid' },
  MRD_ERR_API_UNAUTHORIZED: { message: '%s', statusCode: 401, title: 'Authentication required' },
  MRD_ERR_API_FORBIDDEN: { message: '%s', statusCode: 403, title: 'Read-only token' },
  MRD_ERR_API_NOT_FOUND: { message: '%s', statusCode: 404, title: 'Not found' },
  MRD_ERR_API_CONFLICT: { message: '%s', statusCode: 409, title: 'Conflict with the current state' },
  MRD_ERR_API_PRECONDITION: { message: '%s', statusCode: 412, title: 'The zone has changed' },
  MRD_ERR_API_TOO_LARGE: { message: '%s', statusCode: 413, title: 'Request body too large' },
  MRD_ERR_API_MEDIA_TYPE: { message: '%s', statusCode: 415, title: 'Unsupported content type' },
  MRD_ERR_API_RATE_LIMITED: { message: '%s', statusCode: 429, title: 'Too many failed authentications' },
  MRD_ERR_API_UNAVAILABLE: { message: '%s', statusCode: 503, title: 'The configuration store is unreachable' },
  MRD_ERR_API_MASTER_FILE: { message: '%s', statusCode: 422, title: 'A master-file zone holds plain records only' },
  MRD_ERR_DNSSEC_NO_STATE: {
    message: 'cannot sign zone "%s": its keys need somewhere durable; start the node with --state DIR (or run a cluster, which keeps them in etcd)',
    statusCode: 409,
    title: 'No durable place for DNSSEC keys',
  },
  MRD_ERR_DNSSEC_NOT_SIGNED: { message: 'zone "%s" is not signed', statusCode: 409, title: 'The zone is not signed' },
  MRD_ERR_DNSSEC_DECLARED: {
    message: 'zone "%s" asks to be signed in its document (its dnssec: block); remove the block to stop signing',
    statusCode: 409,
    title: 'The zone document asks for signing',
  },
  MRD_ERR_DNSSEC_ROLLOVER: { message: '%s', statusCode: 409, title: 'The key rollover cannot take this step now' },
  MRD_ERR_DNSSEC_KEYS: { message: 'the DNSSEC keys of zone "%s" cannot be used: %s', statusCode: 500, title: 'Unusable DNSSEC keys' },
  MRD_ERR_ZONE_KEY: { message: 'the key names zone %s but its text is zone %s', statusCode: 400, title: 'The zone key names another zone' },
  MRD_ERR_ETCD: { message: 'etcd: %s', statusCode: 503, title: 'An etcd request failed' },
  MRD_ERR_ETCD_AUTH: { message: "etcd refuses this process's credentials: %s", statusCode: 503, title: 'etcd refuses the credentials' },
  MRD_ERR_CHECKER_REFUSED: { message: "the node refuses this checker's votes: %s", statusCode: 500, title: 'The node refuses the checker' },
  MRD_ERR_CONFIG: { message: 'bad configuration: %s', statusCode: 500, title: 'Bad configuration' },
  MRD_ERR_GEOIP_DB: { message: 'geoip database refused: %s', statusCode: 500, title: 'Bad geoip database' },
  MRD_ERR_CLI_USAGE: { message: '%s', statusCode: 400, title: 'Bad command line' },
  MRD_ERR_LISTEN: { message: 'cannot listen on %s: %s', statusCode: 500, title: 'Cannot listen' },
  MRD_ERR_CONFIG_FILE: { message: '%s', statusCode: 400, title: 'Bad configuration file' },
  MRD_ERR_INTERNAL: { message: '%s', statusCode: 500, title: 'Internal error' },
  MRD_ERR_CHECK_NO_ZONES: { message: 'no zone files found (*.zone, *.yaml, *.yml) in %s', statusCode: 400, title: 'No zone files found' },
  MRD_ERR_UDP_IO: { message: 'the batched UDP path cannot run: %s', statusCode: 500, title: 'The batched UDP path cannot run' },
  MRD_ERR_WORKER: { message: 'DNS worker %s: %s', statusCode: 500, title: 'A DNS worker cannot start' },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof codes;

/** What fills one `%s` of a message template. */
export type ErrorArg = string | number;

/** One {@link ErrorArg} per `%s` in a template. */
type ParamsOf<T extends string> = T extends `${string}%s${infer Rest}` ? [ErrorArg, ...ParamsOf<Rest>] : [];

/** The arguments of code `C`: one per `%s` of its message template. */
export type ErrorArgs<C extends ErrorCode> = ParamsOf<(typeof codes)[C]['message']>;

/** A code with its arguments, checked together (for problems collected before they are raised). */
export type CodedArgs = { [C in ErrorCode]: { readonly code: C; readonly args: Readonly<ErrorArgs<C>> } }[ErrorCode];

/** The codes whose message is just the detail (`%s`): the admin API's and a few others. */
export type DetailCode = { [C in ErrorCode]: ErrorArgs<C> extends [ErrorArg] ? C : never }[ErrorCode];

function fill(template: string, args: readonly ErrorArg[]): string {
  let i = 0;
  return template.replace(/%s/g, () => String(args[i++] ?? ''));
}

/** Builds a {@link MeridianError} for `code` with the template filled in by `args`. */
export function createError<C extends ErrorCode>(code: C, ...args: ErrorArgs<C>): MeridianError<C> {
  return new MeridianError(code, fill(codes[code].message, args));
}

/** Like {@link createError}, with the cause kept (`err.cause`). */
export function createErrorCausedBy<C extends ErrorCode>(cause: unknown, code: C, ...args: ErrorArgs<C>): MeridianError<C> {
  return new MeridianError(code, fill(codes[code].message, args), { cause });
}

/** A refusal of bad input naming each field at fault (`errors[]` of the problem). */
export function fieldError<C extends DetailCode>(code: C, detail: string, errors: readonly FieldProblem[]): MeridianError<C> {
  return new MeridianError(code, detail, { errors });
}

/** Builds a {@link ZoneError} for `code` at a file position. */
export function zoneError<C extends ErrorCode>(code: C, at: SourcePosition, args: Readonly<ErrorArgs<C>>, record?: string): ZoneError<C> {
  return new ZoneError(code, fill(codes[code].message, args), at, record);
}

/** {@link zoneError} for a code and arguments collected together ({@link CodedArgs}). */
export function zoneErrorOf(problem: CodedArgs, at: SourcePosition, record?: string): ZoneError {
  return new ZoneError(problem.code, fill(codes[problem.code].message, problem.args), at, record);
}
