// What the loader and the graph rules ask of a value before trusting it: a document is any JSON, or worse.

/** An object with keys, not null and not a list (a parsed JSON object, or anything a caller passed that looks like one). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Text that names something, or undefined for anything else (missing, empty, not text). */
export function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
