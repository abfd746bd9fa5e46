/**
 * Quoting for SQL text built by hand, the standard's rules, which SQLite and PostgreSQL share. Names are also checked
 * against the schema before use; quoting keeps odd ones (quotes, spaces, keywords) safe.
 */

/** An identifier: `"name"`, an embedded double quote doubled. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A string literal: `'text'`, an embedded single quote doubled. */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
