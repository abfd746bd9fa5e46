import type { Version } from '../types';

/** SQLite column affinity (https://sqlite.org/datatype3.html §3.1), decided from the declared type as SQLite does. */
export type Affinity = 'integer' | 'text' | 'blob' | 'real' | 'numeric';

/** The affinity SQLite gives a column of this declared type. */
export function columnAffinity(declaredType: string): Affinity {
  const declared = declaredType.toUpperCase();
  if (declared.includes('INT')) return 'integer';
  if (/CHAR|CLOB|TEXT/.test(declared)) return 'text';
  if (declared === '' || declared.includes('BLOB')) return 'blob';
  if (/REAL|FLOA|DOUB/.test(declared)) return 'real';
  return 'numeric';
}

/**
 * Converts a JSON value to what better-sqlite3 binds. Whole numbers go in as BigInt because better-sqlite3 binds every
 * JS number as REAL: 5 would land in a TEXT column as "5.0" and in an untyped one as 5.0.
 */
export function toSqlValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    return Number.isSafeInteger(value) ? BigInt(value) : value;
  }
  if (typeof value === 'string' || typeof value === 'bigint' || value instanceof Uint8Array) return value;
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/** Reads a stored value back as JSON, so what the runtime wrote compares equal to what it reads next time. */
export function columnDecoder(declaredType: string): (value: unknown) => unknown {
  const declared = declaredType.toUpperCase();
  if (declared.includes('BOOL')) {
    return (value) => (typeof value === 'number' && (value === 0 || value === 1) ? value === 1 : fromSqlValue(value));
  }
  if (declared.includes('JSON')) {
    return (value) => {
      if (typeof value !== 'string') return fromSqlValue(value);
      try {
        return JSON.parse(value) as unknown;
      } catch {
        // Text that is not JSON is someone else's plain value in a JSON-declared column: keep it as text.
        return value;
      }
    };
  }
  return fromSqlValue;
}

function fromSqlValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  // BLOBs have no JSON form; base64 keeps them comparable and printable.
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return value;
}

/** A stored updatedAt value as a version. */
export function toVersion(value: unknown): Version | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return Number(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}

/**
 * Whether a soft-delete column marks its row deleted. Falsy values are NULL, 0, '', '0' and 'false'; anything else
 * (1, 'true', a deletion timestamp) means deleted. {@link liveRowCondition} is the same rule in SQL.
 */
export function isDeletedFlag(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === 'number' || typeof value === 'bigint') return Number(value) !== 0;
  if (typeof value === 'string') return !['', '0', 'false'].includes(value.trim().toLowerCase());
  return true;
}

/** SQL that is true for a row whose soft-delete column (already quoted) does not mark it deleted. */
export function liveRowCondition(quotedFlag: string): string {
  return `(${quotedFlag} IS NULL OR ${quotedFlag} = 0 OR lower(trim(${quotedFlag})) IN ('', '0', 'false'))`;
}

