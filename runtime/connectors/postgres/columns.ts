/**
 * What the connector needs to know of a column, read from information_schema, and the SQL each kind of column needs:
 * how its value reads back as a version, how it sorts, how a parameter is cast to it.
 */
import { sql, type RawBuilder } from 'kysely';
import { coarseStampMs, dayMs, type TimestampFormat } from '../timestamps';

export type ColumnKind = 'timestamptz' | 'timestamp' | 'date' | 'integer' | 'bigint' | 'decimal' | 'float' | 'text' | 'boolean' | 'json' | 'uuid' | 'other';

export interface ColumnInfo {
  name: string;
  /** information_schema's data_type, for describe(): `timestamp with time zone`, `ARRAY`, ... */
  dataType: string;
  udtSchema: string;
  udtName: string;
  nullable: boolean;
  /** The database fills it in on insert: a default, a sequence or an identity. */
  hasDefault: boolean;
  /** GENERATED ALWAYS: it cannot be written at all. */
  generated: boolean;
  kind: ColumnKind;
  /** Fractional digits of seconds a timestamp keeps (`timestamp(0)`: 0; unconstrained: 6); null for other types. */
  secondsDigits: number | null;
}

export interface ColumnRow {
  column_name: string;
  data_type: string;
  udt_schema: string;
  udt_name: string;
  is_nullable: string;
  column_default: string | null;
  is_identity: string;
  identity_generation: string | null;
  is_generated: string;
  datetime_precision: number | null;
}

/** A column from its information_schema.columns row. */
export function columnFromRow(row: ColumnRow): ColumnInfo {
  const kind = kindOf(row.udt_schema, row.udt_name);
  return {
    name: row.column_name,
    dataType: row.data_type,
    udtSchema: row.udt_schema,
    udtName: row.udt_name,
    nullable: row.is_nullable === 'YES',
    hasDefault: row.column_default !== null || row.is_identity === 'YES',
    generated: row.is_generated === 'ALWAYS' || row.identity_generation === 'ALWAYS',
    kind,
    secondsDigits: kind === 'timestamp' || kind === 'timestamptz' ? Number(row.datetime_precision ?? 6) : null,
  };
}

function kindOf(schema: string, name: string): ColumnKind {
  if (schema !== 'pg_catalog') return name === 'citext' ? 'text' : 'other';
  switch (name) {
    case 'timestamptz':
      return 'timestamptz';
    case 'timestamp':
      return 'timestamp';
    case 'date':
      return 'date';
    case 'int2':
    case 'int4':
      return 'integer';
    case 'int8':
      return 'bigint';
    case 'numeric':
      return 'decimal';
    case 'float4':
    case 'float8':
      return 'float';
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'name':
      return 'text';
    case 'bool':
      return 'boolean';
    case 'json':
    case 'jsonb':
      return 'json';
    case 'uuid':
      return 'uuid';
    default:
      return 'other';
  }
}

/** Kinds an updatedAt column may have: a time, or a number or text that sorts like one. */
export const versionKinds: readonly ColumnKind[] = ['timestamptz', 'timestamp', 'date', 'integer', 'bigint', 'decimal', 'float', 'text'];

/**
 * How far apart (ms) two versions of an updatedAt column coarser than the runtime's stamps can be and still be equal:
 * a day for a date, a second for `timestamp(0)`, epoch seconds or text stamped in whole seconds (`CURRENT_TIMESTAMP`
 * into text). Two edits within it may share a version, so one at the cursor's version must be compared with its
 * shadow rather than dropped as seen (`lookbackMs`). Null when every write moves the version on: a timestamp to
 * microseconds (the runtime steps it a microsecond past the row's last), epoch milliseconds, text with milliseconds.
 * `format` and `newest` describe a number or text column: its stamp format, and its newest value as read.
 */
export function coarseResolutionMs(column: ColumnInfo, format: TimestampFormat | null, newest: unknown): number | null {
  switch (column.kind) {
    case 'date':
      return dayMs;
    case 'timestamp':
    case 'timestamptz': {
      // A column with fewer fractional digits rounds the runtime's microsecond step away.
      const digits = column.secondsDigits ?? 6;
      return digits < 6 ? Math.max(1, 10 ** (3 - digits)) : null;
    }
    default:
      return format ? coarseStampMs(newest, format) : null;
  }
}

/** The column in SQL, qualified by the table alias `t`. */
export function ref(column: ColumnInfo): RawBuilder<unknown> {
  return sql`t.${sql.id(column.name)}`;
}

/**
 * The column's value as a version: timestamps as fixed-width UTC ISO-8601 with microseconds, so versions compare as
 * text in time order and a conditional write can match the stored value exactly (a JS Date would drop microseconds).
 */
export function versionExpression(column: ColumnInfo): RawBuilder<unknown> {
  switch (column.kind) {
    case 'timestamptz':
      return sql`to_char(${ref(column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
    case 'timestamp':
      return sql`to_char(${ref(column)}, 'YYYY-MM-DD"T"HH24:MI:SS.US')`;
    case 'date':
      return sql`to_char(${ref(column)}, 'YYYY-MM-DD')`;
    case 'integer':
    case 'bigint':
    case 'decimal':
    case 'float':
      return ref(column);
    default:
      return sql`${ref(column)}::text`;
  }
}

/** How the column sorts in a listing: text by code unit ("C"), as versions and ids compare in the engine. */
export function sortExpression(column: ColumnInfo): RawBuilder<unknown> {
  return column.kind === 'text' ? sql`${ref(column)} COLLATE "C"` : ref(column);
}

/** A parameter cast to the column's type, so a text id or version compares with the column as the column does. */
export function castTo(column: ColumnInfo, value: unknown): RawBuilder<unknown> {
  const cast = sql`CAST(${value} AS ${sql.id(column.udtSchema, column.udtName)})`;
  return column.kind === 'text' ? sql`${cast} COLLATE "C"` : cast;
}

/**
 * Values as one array parameter of the column's type, for `= ANY(…)`. Equality under the column's own collation is the
 * one a key lookup wants (deterministic collations compare bytes for equality), so unlike {@link castTo} no COLLATE.
 */
export function castToArray(column: ColumnInfo, values: readonly unknown[]): RawBuilder<unknown> {
  return sql`CAST(${values} AS ${sql.id(column.udtSchema, column.udtName)}[])`;
}

/** A value as a parameter for writing into the column. */
export function writeParameter(column: ColumnInfo, value: unknown): RawBuilder<unknown> {
  // pg would turn a JS array into a PostgreSQL array literal, which is not JSON.
  if (column.kind === 'json') return sql`CAST(${value === null || value === undefined ? null : JSON.stringify(value)} AS ${sql.id(column.udtSchema, column.udtName)})`;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return sql`${JSON.stringify(value)}`;
  return sql`${value ?? null}`;
}

/** Whether an id can be a value of the key column at all; others cannot exist, and casting them would fail. */
export function keyAccepts(column: ColumnInfo, id: string): boolean {
  switch (column.kind) {
    case 'integer':
      return /^-?\d{1,10}$/.test(id) && Math.abs(Number(id)) <= 2 ** 31;
    case 'bigint':
      return /^-?\d{1,19}$/.test(id) && BigInt(id) <= 2n ** 63n - 1n && BigInt(id) >= -(2n ** 63n);
    case 'decimal':
    case 'float':
      return /^-?\d+(\.\d+)?$/.test(id);
    case 'uuid':
      return /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(id);
    case 'boolean':
    case 'json':
      return false;
    default:
      return true;
  }
}

/** SQL that is true for a row whose soft-delete column does not mark it deleted; the same rule as {@link isDeletedValue}. */
export function liveCondition(column: ColumnInfo): RawBuilder<unknown> {
  const c = ref(column);
  switch (column.kind) {
    case 'boolean':
      return sql`${c} IS NOT TRUE`;
    case 'timestamptz':
    case 'timestamp':
    case 'date':
    case 'json':
    case 'uuid':
    case 'other':
      return sql`${c} IS NULL`;
    case 'integer':
    case 'bigint':
    case 'decimal':
    case 'float':
      return sql`COALESCE(${c}, 0) = 0`;
    case 'text':
      return sql`COALESCE(lower(trim(${c})), '') IN ('', '0', 'false')`;
  }
}

/** What a runtime soft delete stores in the column. */
export function deletedValue(column: ColumnInfo): RawBuilder<unknown> {
  switch (column.kind) {
    case 'boolean':
      return sql`true`;
    case 'timestamptz':
    case 'timestamp':
      return sql`clock_timestamp()`;
    case 'date':
      return sql`current_date`;
    case 'text':
      return sql`'true'`;
    case 'json':
      return sql`'true'::jsonb`;
    default:
      return sql`1`;
  }
}

/** Whether a read value of a soft-delete column marks the row deleted. */
export function isDeletedValue(value: unknown): boolean {
  if (value === null || value === undefined || value === false) return false;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return !['', '0', 'false'].includes(value.trim().toLowerCase());
  return true;
}
