// JSON as the database keeps it. Every jsonb value crosses the wire as text and is parsed
// here, so integers beyond 2^53 come back as bigint (and decimals that a double cannot
// hold as LosslessNumber), whatever the driver; and what is sent is checked first, so bad
// input from JavaScript is refused before the database sees it.
import { isSafeNumber, LosslessNumber, parse } from 'lossless-json';
import { InvalidArgumentError } from './errors.js';

/** A JSON value. Integers outside the safe range are bigint; exact decimals may be LosslessNumber. */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | LosslessNumber
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

export type JsonObject = { [key: string]: JsonValue };

export { LosslessNumber };

function parseNumber(text: string): number | bigint | LosslessNumber {
  if (isSafeNumber(text)) return Number(text);
  if (/^-?\d+$/.test(text)) return BigInt(text);
  return new LosslessNumber(text);
}

/** Parses JSON text from the database without losing digits. */
export function parseJson<T = JsonValue>(text: string | null): T | null {
  if (text === null) return null;
  return parse(text, undefined, parseNumber) as T;
}

/**
 * JSON text for `value`, refusing what JSON cannot hold instead of silently changing it:
 * undefined, functions, symbols, NaN and ±Infinity, cycles. `what` names the argument.
 */
export function toJsonText(value: unknown, what: string): string {
  const seen = new Set<object>();
  const out: string[] = [];
  const write = (v: unknown, path: string): void => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function'
        && !(v instanceof LosslessNumber)) {
      v = (v as { toJSON: () => unknown }).toJSON();
    }
    if (v === null) { out.push('null'); return; }
    switch (typeof v) {
      case 'boolean': out.push(v ? 'true' : 'false'); return;
      case 'number':
        if (!Number.isFinite(v)) throw new InvalidArgumentError(`${what}${path} is ${v}, which JSON cannot hold`);
        out.push(JSON.stringify(v)); return;
      case 'bigint': out.push(v.toString()); return;
      case 'string': out.push(JSON.stringify(v)); return;
      case 'undefined': case 'function': case 'symbol':
        throw new InvalidArgumentError(`${what}${path} is ${typeof v}, which JSON cannot hold`);
    }
    if (v instanceof LosslessNumber) { out.push(v.toString()); return; }
    const object = v as object;
    if (seen.has(object)) throw new InvalidArgumentError(`${what}${path} refers back to itself (a cyclic object)`);
    seen.add(object);
    if (Array.isArray(object)) {
      out.push('[');
      object.forEach((item, i) => { if (i > 0) out.push(','); write(item, `${path}[${i}]`); });
      out.push(']');
    } else {
      out.push('{');
      let first = true;
      for (const [key, item] of Object.entries(object)) {
        if (!first) out.push(',');
        first = false;
        out.push(JSON.stringify(key), ':');
        write(item, `${path}.${key}`);
      }
      out.push('}');
    }
    seen.delete(object);
  };
  write(value, '');
  return out.join('');
}

/** JSON text for an argument that must be a JSON object (a patch, parameters, metadata). */
export function toJsonObjectText(value: unknown, what: string): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof LosslessNumber) {
    throw new InvalidArgumentError(`${what} must be a JSON object, not ${describe(value)}`);
  }
  return toJsonText(value, what);
}

/**
 * JSON text for a state. Any JSON value is a state, but a string that itself holds a JSON
 * object or array is almost always text that was meant to be parsed: refused.
 */
export function toStateText(value: unknown, what = 'state'): string {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if ((trimmed.startsWith('{') && trimmed.endsWith('}')) || (trimmed.startsWith('[') && trimmed.endsWith(']'))) {
      try {
        JSON.parse(trimmed);
        throw new InvalidArgumentError(`${what} is a string holding JSON text; pass the parsed value (JSON.parse) instead`);
      } catch (error) {
        if (error instanceof InvalidArgumentError) throw error;
      }
    }
  }
  return toJsonText(value, what);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
