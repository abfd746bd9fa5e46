import { z } from 'zod';
import { fieldPathSchema } from '../paths';

/** A connection value that names a stored credential instead of holding a secret (SPEC §1). */
export const credentialRef = z.strictObject({
  credential: z.string({ error: 'must name a stored credential' }).min(1, 'must name a stored credential'),
});
export type CredentialRef = z.infer<typeof credentialRef>;

export const detectSchema = z.discriminatedUnion(
  'mode',
  [
    z.strictObject({
      mode: z.literal('poll'),
      intervalMs: z
        .number({ error: 'must be a number of milliseconds' })
        .int('must be a whole number of milliseconds')
        .min(100, 'must be at least 100 ms, or the system would be polled without pause')
        .default(5000),
    }),
    z.strictObject({
      mode: z.literal('webhook'),
      secret: credentialRef,
      /** Where the record id sits in an event, when the system does not send SPEC §10's shape. */
      idPath: z.string().min(1).optional(),
      typePath: z.string().min(1).optional(),
    }),
    z.strictObject({ mode: z.literal('manual') }),
  ],
  { error: 'mode must be one of poll, webhook, manual' },
);

export const writePermissionsSchema = z.strictObject({
  create: z.boolean().default(true),
  update: z.boolean().default(true),
  delete: z.boolean().default(true),
});

/** What each write permission is called where a person meets it: the trigger form, and a run's log when it skips a record. */
export const writePermissionLabels: Record<keyof z.infer<typeof writePermissionsSchema>, string> = {
  create: 'Create records',
  update: 'Update records',
  delete: 'Delete records',
};

/** Whose key a created record gets (`keys`): this system's own, or the same key on every side. */
export const triggerKeyModes = ['own', 'shared'] as const;
export type TriggerKeyMode = (typeof triggerKeyModes)[number];

export const triggerConfigSchema = z.strictObject({
  connector: z.string({ error: 'must name a connector, e.g. sqlite' }).min(1, 'must name a connector, e.g. sqlite'),
  /** Connector-specific; each connector validates its own shape. Secrets only through `{ "credential": ... }`. */
  connection: z.record(z.string(), z.unknown(), { error: 'must be an object describing the connection' }),
  collection: z.string({ error: 'must name a collection (a table, an endpoint)' }).min(1, 'must name a collection'),
  key: z.string({ error: 'must name the record id field' }).min(1, 'must name the record id field'),
  updatedAt: z.string().min(1, 'must name the change timestamp field, or be left out').optional(),
  detect: detectSchema.default({ mode: 'poll', intervalMs: 5000 }),
  tagColumn: z.string().min(1, 'must name a column, or be left out').optional(),
  deletedFlag: z.string().min(1, 'must name a column, or be left out').optional(),
  write: writePermissionsSchema.default({ create: true, update: true, delete: true }),
  /** The field that names a record to a person (conflicts, run history); default: nodes/trigger/display.ts. */
  display: fieldPathSchema('must name a field, or be left out').optional(),
  /**
   * Whose key a record created here gets: `own` (the default), the key this system makes; `shared`, the key of the
   * record it is created from, on a side that shares keys too (the same row, the same key). Only connectors that can
   * create a record under a given key take `shared` (capabilities.givenKeys).
   */
  keys: z.enum(triggerKeyModes, { error: 'must be one of own, shared' }).optional(),
});

export type TriggerConfig = z.infer<typeof triggerConfigSchema>;
export const triggerTypeVersion = 1;
