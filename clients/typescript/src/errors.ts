// Every SQLSTATE the pg_chronicle README documents becomes an error class carrying the
// SQLSTATE and the database's message (and DETAIL/HINT when it sent them). Errors the
// client raises before sending anything are InvalidArgumentError, SQLSTATE 22023 as the
// database would have said.

export class ChronicleError extends Error {
  /** The SQLSTATE (five characters). */
  readonly sqlstate: string;
  readonly detail: string | undefined;
  readonly hint: string | undefined;

  constructor(sqlstate: string, message: string, options: { detail?: string; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.sqlstate = sqlstate;
    this.detail = options.detail;
    this.hint = options.hint;
  }
}

/** 55000 from putState with expectedVersion: another writer got there first. */
export class VersionConflictError extends ChronicleError {
  /** The version the caller expected. */
  readonly expectedVersion: number;
  /** The entity's version when the write was refused (0: it has no current version). */
  readonly currentVersion: number;
  constructor(message: string, expectedVersion: number, currentVersion: number, cause?: unknown) {
    super('55000', message, { cause });
    this.expectedVersion = expectedVersion;
    this.currentVersion = currentVersion;
  }
}

/** 54000: a state over chronicle.max_state_bytes or nested over 1,000 levels; a schema past its bounds. */
export class StateTooLargeError extends ChronicleError {}
/** 54001: validating the state against its schema could nest too deeply. */
export class TooComplexError extends ChronicleError {}
/** 55000: an execution's status moving back, or a finished execution changing. */
export class InvalidTransitionError extends ChronicleError {}
/** 55000: an export acknowledged, failed or released under a lease that is no longer held. */
export class StaleLeaseError extends ChronicleError {}
/** 23514: a state that does not validate against its entity type's schema (enforce mode). */
export class SchemaViolationError extends ChronicleError {}
/** 23000: an UPDATE, DELETE or TRUNCATE of the immutable state history. */
export class ImmutableHistoryError extends ChronicleError {}
/** 22023: an argument the database (or this client) refuses, with the reason. */
export class InvalidArgumentError extends ChronicleError {
  constructor(message: string, options: { detail?: string; hint?: string; cause?: unknown } = {}) {
    super('22023', message, options);
  }
}
/** 22004: a NULL (or undefined) where a value is required. */
export class NullValueError extends ChronicleError {}
/** 22001: a name longer than allowed. */
export class StringTooLongError extends ChronicleError {}
/** 22003: a number out of range (NaN, Infinity, a duration too large). */
export class NumberOutOfRangeError extends ChronicleError {}
/** P0002: no execution with that id. */
export class NotFoundError extends ChronicleError {}
/** 42501: the role lacks a privilege (or row-level security hides the row). */
export class PermissionDeniedError extends ChronicleError {}
/** 0A000: a feature the database lacks (pg_cron for scheduled refreshes). */
export class FeatureNotSupportedError extends ChronicleError {}
/** 22P02 / 22P03: malformed sketch text or bytes. */
export class InvalidRepresentationError extends ChronicleError {}

interface DriverError {
  code?: unknown;
  message?: unknown;
  detail?: unknown;
  hint?: unknown;
  cause?: unknown;
}

/** The driver's error carrying a SQLSTATE, looking through wrappers such as Drizzle's. */
function findDatabaseError(error: unknown): DriverError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const candidate = current as DriverError;
    if (typeof candidate.code === 'string' && /^[0-9A-Z]{5}$/.test(candidate.code)) return candidate;
    current = candidate.cause;
  }
  return undefined;
}

/** The typed error for a database error; anything else is returned unchanged. */
export function toChronicleError(error: unknown): unknown {
  if (error instanceof ChronicleError) return error;
  const db = findDatabaseError(error);
  if (db === undefined) return error;
  const sqlstate = db.code as string;
  const message = String(db.message ?? '');
  const options = {
    detail: typeof db.detail === 'string' ? db.detail : undefined,
    hint: typeof db.hint === 'string' ? db.hint : undefined,
    cause: error,
  };
  switch (sqlstate) {
    case '55000': {
      const conflict = /^version conflict on .*: expected version (\d+), but (?:the current version is (\d+)|it has no current version)/.exec(message);
      if (conflict) return new VersionConflictError(message, Number(conflict[1]), Number(conflict[2] ?? 0), error);
      if (/ is not under this lease|lease/.test(message)) return new StaleLeaseError(sqlstate, message, options);
      return new InvalidTransitionError(sqlstate, message, options);
    }
    case '54000': return new StateTooLargeError(sqlstate, message, options);
    case '54001': return new TooComplexError(sqlstate, message, options);
    case '23514': return new SchemaViolationError(sqlstate, message, options);
    case '23000': return new ImmutableHistoryError(sqlstate, message, options);
    case '22023': return new InvalidArgumentError(message, options);
    case '22004': return new NullValueError(sqlstate, message, options);
    case '22001': return new StringTooLongError(sqlstate, message, options);
    case '22003': return new NumberOutOfRangeError(sqlstate, message, options);
    case 'P0002': return new NotFoundError(sqlstate, message, options);
    case '42501': return new PermissionDeniedError(sqlstate, message, options);
    case '0A000': return new FeatureNotSupportedError(sqlstate, message, options);
    case '22P02': case '22P03': return new InvalidRepresentationError(sqlstate, message, options);
    default: return new ChronicleError(sqlstate, message, options);
  }
}
