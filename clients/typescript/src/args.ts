// Checks of JavaScript arguments before anything is sent: a clear error for undefined,
// NaN or a value of the wrong type, instead of a driver's conversion or a NULL.
import { InvalidArgumentError, NullValueError } from './errors.js';
import { describe } from './json.js';

export function requireText(value: unknown, what: string): string {
  if (value === undefined || value === null) throw new NullValueError('22004', `${what} must not be ${value}`);
  if (typeof value !== 'string') throw new InvalidArgumentError(`${what} must be a string, not ${describe(value)}`);
  return value;
}

export function optionalText(value: unknown, what: string): string | null {
  return value === undefined || value === null ? null : requireText(value, what);
}

export function requireInteger(value: unknown, what: string): number {
  if (value === undefined || value === null) throw new NullValueError('22004', `${what} must not be ${value}`);
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError(`${what} must be an integer, not ${typeof value === 'number' ? value : describe(value)}`);
  }
  return value;
}

export function optionalInteger(value: unknown, what: string): number | null {
  return value === undefined || value === null ? null : requireInteger(value, what);
}

export function optionalNumber(value: unknown, what: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidArgumentError(`${what} must be a finite number, not ${typeof value === 'number' ? value : describe(value)}`);
  }
  return value;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function optionalUuid(value: unknown, what: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw new InvalidArgumentError(`${what} must be a uuid, not ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : describe(value)}`);
  }
  return value;
}

export function requireUuid(value: unknown, what: string): string {
  if (value === undefined || value === null) throw new NullValueError('22004', `${what} must not be ${value}`);
  return optionalUuid(value, what) as string;
}

/** A timestamp parameter: a valid Date or an ISO 8601 string (kept as written, microseconds included). */
export function requireTimestamp(value: unknown, what: string): string {
  if (value === undefined || value === null) throw new NullValueError('22004', `${what} must not be ${value}`);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new InvalidArgumentError(`${what} is an invalid Date`);
    return value.toISOString();
  }
  if (typeof value === 'string') return value;
  throw new InvalidArgumentError(`${what} must be a Date or an ISO 8601 string, not ${describe(value)}`);
}

/** SQL for a timestamptz column as lossless ISO 8601 text in UTC (microseconds kept). */
export function isoText(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}
