// Rows read as `to_jsonb(row)::text`: parsed without loss, keys in camelCase.
import { type JsonValue, parseJson } from './json.js';

const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

export function camelRow<T>(text: string): T {
  const row = parseJson<{ [key: string]: JsonValue }>(text) ?? {};
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [camel(k), v])) as T;
}
