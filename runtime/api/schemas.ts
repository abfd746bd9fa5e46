import { z } from 'zod';
import type { FlowIssue } from '../../nodes/flow/issues';
import { connectorSummarySchema } from '../../nodes/trigger/connectionForm';
import {
  authorizationCodeSettingsSchema,
  credentialKind,
  credentialNameSchema,
  credentialValueSchemas,
  oauth2StatusSchema,
  oauth2StoredSchema,
} from '../credentials/types';
import { errorSchema } from '../http/errorBody';

/**
 * The wire shapes of the HTTP API, and the one module the editor takes its API types from (as types only: zod and the
 * shared `nodes/` and credential schemas are all this imports). Request schemas validate bodies, queries and params;
 * response schemas type what the handlers answer. The routes' `createRoute` definitions (runtime/api/*.ts) use both,
 * so /api/openapi.json, the validation, the handlers and the editor's types cannot drift apart.
 */

export const flowIssueSchema = z.object({
  path: z.string(),
  message: z.string(),
  severity: z.enum(['error', 'warning']).optional(),
  nodeId: z.string().optional(),
  edgeId: z.string().optional(),
});

export const invalidFlowSchema = errorSchema.extend({ issues: z.array(flowIssueSchema) });
/** A flow document refused: not valid (every problem in `issues`), or not the flow the address names (no `issues`). */
export const refusedFlowSchema = z.union([invalidFlowSchema, errorSchema]);

/** A problem in a flow document, as the API reports it (nodes/document.ts `FlowIssue`). */
export type ApiIssue = FlowIssue;

export const okSchema = z.strictObject({ ok: z.literal(true) });

/** Pass jobs waiting (due) and running in a cluster's queue, and how long the oldest due one has waited. */
const clusterQueueSchema = z.strictObject({ waiting: z.number().int(), active: z.number().int(), oldestWaitingSeconds: z.number().nullable() });

/**
 * `/health`: `{"ok":true}` (SPEC §10); a member of a cluster (state on PostgreSQL) adds which process answered and
 * the cluster's size and queue. Who the members are and what they run is /api/cluster's, behind the token.
 */
export const healthSchema = z.strictObject({
  ok: z.literal(true),
  process: z.string().optional(),
  cluster: z.strictObject({ processes: z.number().int(), queue: clusterQueueSchema }).optional(),
});

export const clusterStatusSchema = z.strictObject({
  self: z.strictObject({
    id: z.string(),
    name: z.string(),
    role: z.enum(['serve', 'worker']),
    /** The triggers (flow/trigger) whose change notifications this process listens for. */
    listening: z.array(z.string()),
    /** The triggers another process listens for, which this one takes over if that process dies. */
    standingBy: z.array(z.string()),
  }),
  members: z.array(
    z.strictObject({
      id: z.string(),
      name: z.string(),
      role: z.enum(['serve', 'worker']),
      host: z.string(),
      pid: z.number().int(),
      startedAt: z.string(),
      seenAt: z.string(),
      running: z.array(z.string()),
    }),
  ),
  queue: clusterQueueSchema,
});

// Ids are looked up, never interpreted, so any text goes; the bound only keeps absurd paths out of the logs.
const idParam = z.string().min(1, 'must not be empty').max(500, 'must be at most 500 characters');

export const flowIdParams = z.strictObject({ id: idParam });
export const runIdParams = z.strictObject({ id: idParam });
export const conflictIdParams = z.strictObject({ id: idParam });
export const hookParams = z.strictObject({ flowId: idParam, nodeId: idParam });

export const flowListEntrySchema = z.strictObject({ id: z.string(), name: z.string(), deployed: z.boolean() });
export type FlowListEntry = z.infer<typeof flowListEntrySchema>;
export const createdFlowSchema = z.strictObject({ id: z.string() });
export const flowStateSchema = z.strictObject({ id: z.string(), deployed: z.boolean() });
/**
 * A flow's alert webhook, and why the last delivery to it failed (`at`, `message`): null when it succeeded, or when
 * none was tried since this process started. A refused host is answered when the URL is set (422 `access_refused`).
 */
export const alertSchema = z.strictObject({ url: z.string().nullable(), lastError: z.strictObject({ at: z.string(), message: z.string() }).nullable() });

/** A flow document as sent; its real validation is the flow loader's, which reports every problem with its path. */
export const flowDocumentBodySchema = z.looseObject({
  format: z.literal('syncline.flow'),
  version: z.number().int(),
  id: z.string(),
  name: z.string(),
  nodes: z.array(z.looseObject({ id: z.string(), type: z.string() })),
  edges: z.array(z.looseObject({ id: z.string(), source: z.string(), target: z.string() })),
});

export const alertBodySchema = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL, or null to turn alerts off' })
    .max(2000, 'must be at most 2000 characters')
    .nullable(),
});

/** SPEC §8: what a pass did (or, dry, would do); the engine's `PassSummary`. */
export const summarySchema = z.strictObject({
  created: z.number().int(),
  updated: z.number().int(),
  deleted: z.number().int(),
  echoes: z.number().int(),
  conflicts: z.number().int(),
  failed: z.number().int(),
});
export type RunSummary = z.infer<typeof summarySchema>;

const runStatusSchema = z.enum(['running', 'ok', 'failed', 'stopped']);

export const runResultSchema = z.strictObject({
  runId: z.string().nullable(),
  status: runStatusSchema,
  summary: summarySchema,
  error: z.string().nullable(),
});

/** What names a record to a person (SPEC §3 `display`), or null when nothing does: it is then shown by its id. */
const recordNameSchema = z.string().nullable();

const fieldChangeSchema = z.strictObject({ field: z.string(), before: z.unknown(), after: z.unknown() });
export type FieldChange = z.infer<typeof fieldChangeSchema>;

export const plannedSideSchema = z.strictObject({
  nodeId: z.string(),
  creates: z.array(z.strictObject({ id: z.null(), fields: z.array(fieldChangeSchema) })),
  updates: z.array(z.strictObject({ id: z.string(), recordName: recordNameSchema, fields: z.array(fieldChangeSchema) })),
  deletes: z.array(z.strictObject({ id: z.string(), recordName: recordNameSchema })),
  /** Changes of this side's records the pass would not carry, and why (creates off, filtered out, …): the run log's `skipped` lines. */
  skipped: z.array(z.strictObject({ id: z.string().nullable(), recordName: recordNameSchema, reason: z.string() })),
});

export const dryRunSchema = z.strictObject({ summary: summarySchema, sides: z.array(plannedSideSchema) });
/** A dry run's answer: the plan, and whether the pass that planned it ran. */
export const dryRunResultSchema = dryRunSchema.extend({ status: runResultSchema.shape.status, error: z.string().nullable() });

export const runViewSchema = z.strictObject({
  id: z.string(),
  flowId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  status: runStatusSchema,
  reason: z.enum(['manual', 'schedule', 'webhook', 'cli']),
  dryRun: z.boolean(),
  summary: summarySchema.nullable(),
  error: z.string().nullable(),
  /** The cluster member that ran the pass (host:pid); null when the runtime is one process. */
  process: z.string().nullable(),
});

export const runLogEntrySchema = z.strictObject({
  nodeId: z.string(),
  recordId: z.string().nullable(),
  entityId: z.string().nullable(),
  recordName: recordNameSchema,
  outcome: z.enum(['created', 'updated', 'deleted', 'echo', 'conflict', 'failed', 'skipped', 'adopted']),
  fields: z.array(fieldChangeSchema),
  message: z.string().nullable(),
  at: z.string(),
});

export const runDetailSchema = z.strictObject({ run: runViewSchema, log: z.array(runLogEntrySchema) });

export const runsQuerySchema = z.strictObject({
  limit: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000')
    .optional(),
  filter: z
    .enum(['all', 'changes', 'failed', 'conflicts'], { error: 'must be one of all, changes, failed, conflicts' })
    .optional()
    .meta({ description: 'changes: runs that wrote records; failed: runs that failed, stopped or had failing records; conflicts: runs that filed conflicts' }),
  before: idParam.optional().meta({ description: 'A run id: only runs older than it (the last run of the previous page)' }),
});

export const conflictResolutionSchema = z.union(
  [
    z.strictObject({ side: z.string().min(1, 'must name a trigger node id') }),
    z.strictObject({ value: z.unknown() }).refine((body) => 'value' in body, { message: 'must give the value', path: ['value'] }),
  ],
  { error: 'must be {"side":"<trigger id>"} or {"value":...}' },
);

export const conflictsQuerySchema = z.strictObject({
  flow: idParam.optional(),
  status: z.enum(['open', 'resolved', 'applied', 'all'], { error: 'must be one of open, resolved, applied, all' }).optional(),
});

export const conflictViewSchema = z.strictObject({
  id: z.string(),
  flowId: z.string(),
  entityId: z.string().nullable(),
  recordName: recordNameSchema,
  kind: z.enum(['field', 'match', 'delete', 'mass-delete', 'breaker', 'key']),
  field: z.string().nullable(),
  base: z.unknown(),
  sides: z.record(z.string(), z.unknown()),
  status: z.enum(['open', 'resolved', 'applied']),
  resolution: z.union([z.strictObject({ side: z.string() }), z.strictObject({ value: z.unknown() })]).nullable(),
  createdAt: z.string(),
  resolvedAt: z.string().nullable(),
});

export const failingRecordSchema = z.strictObject({
  flowId: z.string(),
  nodeId: z.string(),
  recordId: z.string(),
  entityId: z.string().nullable(),
  error: z.string(),
  attempts: z.number().int(),
  firstFailedAt: z.string(),
  lastFailedAt: z.string(),
});

export const entityParams = z.strictObject({ id: idParam, entityId: idParam });

/**
 * Where a field's golden value came from (the engine's `FieldProvenance`): the side whose value it is (null: a value a
 * person typed), the pass that set it and when that pass began (null: a person's resolution, or a run no longer in
 * the history), the value before and after, and the rule that decided it.
 */
export const fieldProvenanceSchema = z.strictObject({
  side: z.string().nullable(),
  runId: z.string().nullable(),
  runStartedAt: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
  rule: z.enum(['only change', 'agreement', 'latest write', 'prefer', 'first sync', 'manual resolution']),
  at: z.string(),
  conflictId: z.string().nullable(),
});
export type FieldProvenanceView = z.infer<typeof fieldProvenanceSchema>;

/**
 * The record inspector's view of one linked record: the golden record field by field with where each value came from
 * (`provenance` null for a value set before provenance was kept), each side of the flow with its linked record (null
 * where it has none), its name and its shadow (the record as last in sync, in the conflict node's vocabulary; `gone`:
 * deleted there and kept as a tombstone), the open conflicts about it and its newest run-log lines.
 */
export const entityInspectionSchema = z.strictObject({
  flowId: z.string(),
  entityId: z.string(),
  recordName: recordNameSchema,
  deleted: z.boolean(),
  quarantined: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  fields: z.array(z.strictObject({ field: z.string(), value: z.unknown(), provenance: fieldProvenanceSchema.nullable() })),
  sides: z.array(
    z.strictObject({
      nodeId: z.string(),
      recordId: z.string().nullable(),
      recordName: recordNameSchema,
      gone: z.boolean(),
      shadow: z.record(z.string(), z.unknown()).nullable(),
    }),
  ),
  conflicts: z.array(conflictViewSchema),
  log: z.array(runLogEntrySchema.extend({ runId: z.string(), runStartedAt: z.string() })),
});
export type EntityInspectionView = z.infer<typeof entityInspectionSchema>;

/**
 * What the canvas shows while a flow runs. Per trigger: when it last took part in a pass, its records in sync (linked,
 * not tombstoned), the records passes of the last hour wrote on its side, its failing records, the open conflicts that
 * name it, and `problem` when the last pass that finished could not open or list its system, or while its system's
 * rate limit holds its part (api/liveStatus.ts triggerProblems), and `webhook` when the runtime registers the trigger's
 * webhook with its system (serve --public-url). Per conflict node: the open conflicts of its part. `countedAt`: when
 * the records in sync were counted.
 */
export const flowStatusSchema = z.strictObject({
  nodes: z.record(
    z.string(),
    z.strictObject({
      lastPassAt: z.string().nullable(),
      synced: z.number().int(),
      changesLastHour: z.number().int(),
      failing: z.number().int(),
      openConflicts: z.number().int(),
      problem: z.strictObject({ message: z.string(), at: z.string(), status: z.string() }).nullable(),
      /**
       * The hook the runtime keeps registered with the trigger's system (scheduler/webhookRegistrations.ts): where
       * it sends, whether the system confirmed it, why the last try failed (it is tried again), and what the system's
       * connector said a person should know (fields it does not watch). Null when nothing is registered for it.
       */
      webhook: z.strictObject({ url: z.string(), registered: z.boolean(), error: z.string().nullable(), notes: z.array(z.string()) }).nullable(),
    }),
  ),
  conflictNodes: z.record(z.string(), z.strictObject({ openConflicts: z.number().int() })),
  countedAt: z.string().nullable(),
});
export type FlowStatus = z.infer<typeof flowStatusSchema>;
/** A trigger node's live counts, and the problem when the last pass could not reach its system. */
export type TriggerStatus = FlowStatus['nodes'][string];

/** What a credential's `value` holds, by its type. */
const credentialValueHelp =
  'the secret as a string for a token (or any other type); {"username","password"} for basic; {"grant":"client_credentials","tokenEndpoint" or "issuer","clientId","clientSecret","scopes"?,"clientAuth"?} for oauth2';

/**
 * `{"name", "type", "value"}` (SPEC §10): `value` is read by the type's schema (runtime/credentials/types.ts): the
 * secret as a string for `token` and for any other type, which is a label on a token (`webhook-secret`); `{"username",
 * "password"}` for `basic`; `{"grant": "client_credentials", "tokenEndpoint" or "issuer", "clientId", "clientSecret",
 * "scopes"}` for `oauth2`. An authorization-code credential is connected by consent instead (`…/oauth/start`).
 */
export const credentialBodySchema = z
  .strictObject({
    name: credentialNameSchema,
    type: z
      .string({ error: 'must be a string: token, basic or oauth2 (or a label of your own for a token, e.g. "webhook-secret")' })
      .min(1, 'must not be empty')
      .max(100, 'must be at most 100 characters'),
    // Refined rather than left to the object: a key missing for z.unknown() reads "expected nonoptional" there.
    value: z
      .unknown()
      .refine((value) => value !== undefined, { error: `is required: ${credentialValueHelp}`, abort: true })
      .meta({ description: credentialValueHelp }),
  })
  .superRefine((body, context) => {
    const kind = credentialKind(body.type);
    if (kind === 'oauth2' && (body.value as { grant?: unknown } | null)?.grant === 'authorization_code') {
      context.addIssue({
        code: 'custom',
        path: ['value', 'grant'],
        message: 'an authorization-code credential is connected by consent: POST /api/credentials/:name/oauth/start (the editor\'s Connect button)',
      });
      return;
    }
    const parsed = credentialValueSchemas[kind].safeParse(body.value);
    if (parsed.success) return;
    for (const issue of parsed.error.issues) context.addIssue({ code: 'custom', path: ['value', ...issue.path], message: issue.message });
  });

export const credentialNameParams = z.strictObject({ name: z.string().min(1).max(100) });
export const credentialSummarySchema = z.union([
  z.strictObject({ name: z.string(), type: z.string(), createdAt: z.string() }),
  z.strictObject({
    name: z.string(),
    type: z.literal('oauth2'),
    createdAt: z.string(),
    grant: oauth2StoredSchema.shape.grant,
    /** `reconnect`: the server refused the credential, a person must connect it again. */
    status: oauth2StatusSchema,
    expiresAt: z.string().nullable(),
    refusal: z.string().nullable(),
  }),
]);
export const createdCredentialSchema = z.strictObject({ name: z.string(), type: z.string() });

/** The credential a consent connects: a name flows can use, since the consent stores it under that name. */
export const oauthStartParams = z.strictObject({ name: credentialNameSchema });
/** Starts an OAuth2 consent: the server (issuer, or its endpoints), the client and the scopes; omitted ones are kept from a stored credential. */
export const oauthStartBodySchema = authorizationCodeSettingsSchema;
export const oauthStartResultSchema = z.strictObject({
  /** Open it in the browser (a popup): the server asks the person, then sends the browser to `redirectUri`. */
  authorizationUrl: z.string(),
  redirectUri: z.string(),
  /** The consent must be finished before this. */
  expiresAt: z.string(),
});
/** What the authorization server sends the browser back with (RFC 6749 §4.1.2; `iss` from RFC 9207). */
export const oauthCallbackQuery = z.object({
  code: z.string().optional(),
  state: z.string().optional(),
  error: z.string().optional(),
  error_description: z.string().optional(),
  iss: z.string().optional(),
});

export const connectorListSchema = z.array(connectorSummarySchema);

export const describeBodySchema = z.strictObject({
  connector: z.string({ error: 'must name a connector, e.g. sqlite' }).min(1, 'must name a connector, e.g. sqlite'),
  connection: z.record(z.string(), z.unknown(), { error: 'must be an object describing the connection' }),
  /** Relative paths in `connection` resolve against this folder; the data folder when left out. */
  baseDir: z.string().min(1).max(4096).optional(),
  /** For connectors that describe through one open collection: which one, and its key. */
  collection: z.string().min(1).max(500).optional(),
  key: z.string().min(1).max(500).optional(),
});

export const connectionOptionsBodySchema = z.strictObject({
  connector: z.string({ error: 'must name a connector, e.g. github' }).min(1, 'must name a connector, e.g. github'),
  /** The connection as filled in so far: it need not be complete, only hold what the field depends on. */
  connection: z.record(z.string(), z.unknown(), { error: 'must be an object describing the connection' }),
  /** The key of a `lookup` field of the connector's form, e.g. `repo`. */
  field: z.string({ error: 'must name a field of the connection form, e.g. repo' }).min(1, 'must name a field of the connection form, e.g. repo'),
  baseDir: z.string().min(1).max(4096).optional(),
});

/**
 * `POST /api/connectors/sample`: a trigger's config as the editor holds it (validated as a trigger node's config), and
 * how many records to read (1 to 10, default 3).
 */
export const sampleBodySchema = z.strictObject({
  trigger: z.record(z.string(), z.unknown(), { error: 'must be a trigger node\'s config: connector, connection, collection, key' }),
  limit: z.number({ error: 'must be a number of records, 1 to 10' }).int('must be a whole number of records').min(1, 'must be at least 1').max(10, 'must be at most 10').optional(),
  /** Relative paths in the connection resolve against this folder; the data folder when left out. */
  baseDir: z.string().min(1).max(4096).optional(),
});

/** The first records of the trigger's collection, oldest change first: each record's id and data fields (SPEC §3). */
export const sampleResultSchema = z.strictObject({
  records: z.array(z.strictObject({ id: z.string(), fields: z.record(z.string(), z.unknown()) })),
});

/** A field of a collection as a connector describes it (runtime/connectors/types.ts `FieldDescription`). */
export const fieldDescriptionSchema = z.strictObject({ name: z.string(), type: z.string(), nullable: z.boolean() });
export type FieldDescription = z.infer<typeof fieldDescriptionSchema>;
export const collectionDescriptionSchema = z.strictObject({
  name: z.string(),
  fields: z.array(fieldDescriptionSchema),
  /**
   * What a person should know before keying a trigger on the collection, in words that say what to do (sqlite: a
   * rowid SQLite gives again after a delete). Absent when there is nothing to say.
   */
  warnings: z.array(z.string()).optional(),
});
export type CollectionDescription = z.infer<typeof collectionDescriptionSchema>;

export const describeResultSchema = z.strictObject({ collections: z.array(collectionDescriptionSchema) });

/** A webhook body as SPEC §10 fixes it (a trigger with idPath/typePath may accept other shapes). */
export const webhookEventSchema = z.strictObject({ type: z.enum(['upsert', 'delete']), id: z.union([z.string(), z.number()]) });
export const webhookBodySchema = z.union([webhookEventSchema, z.array(webhookEventSchema)]);
export const webhookAcceptedSchema = z.strictObject({ accepted: z.number().int(), duplicate: z.boolean() });

// ---- drafts, versions and the flow list ------------------------------------------------------------------------

/** A draft is any JSON object naming its flow: a half-built flow is the normal state while drawing one. */
export const draftBodySchema = z.looseObject({ id: z.string() }).meta({ description: 'The flow document as the editor holds it, valid or not' });

export const draftSavedSchema = z.strictObject({ id: z.string(), savedAt: z.string() });

export const versionNumberParams = z.strictObject({
  id: idParam,
  version: z.coerce.number({ error: 'must be a version number' }).int('must be a whole number').min(1, 'must be at least 1'),
});

export const versionSummarySchema = z.strictObject({ version: z.number().int(), deployedAt: z.string() });
export type VersionSummary = z.infer<typeof versionSummarySchema>;
export const versionSchema = versionSummarySchema.extend({ document: z.unknown() });

export const flowDraftStateSchema = z.strictObject({
  id: z.string(),
  /** The triggers run (deployed and not paused). */
  deployed: z.boolean(),
  /** The stored flow document (what Run now and Resume run), or null for a flow that is only a draft. */
  stored: z.unknown().nullable(),
  draft: z.strictObject({ document: z.unknown(), savedAt: z.string() }).nullable(),
  /** The last deployed version, or null when the flow was never deployed. */
  version: versionSchema.nullable(),
});
export type FlowDraftState = z.infer<typeof flowDraftStateSchema>;

export const flowHealthSchema = z.strictObject({
  lastRun: z.strictObject({ id: z.string(), status: z.string(), startedAt: z.string(), finishedAt: z.string().nullable() }).nullable(),
  synced: z.number().int(),
  changesLastHour: z.number().int(),
  failing: z.number().int(),
  openConflicts: z.number().int(),
});
export type FlowHealth = z.infer<typeof flowHealthSchema>;

export const overviewSchema = z.strictObject({
  flows: z.array(
    z.strictObject({
      id: z.string(),
      name: z.string(),
      /** False for a flow that is only a draft: never imported, saved or deployed. */
      stored: z.boolean(),
      deployed: z.boolean(),
      version: versionSummarySchema.nullable(),
      /** `changed`: the draft differs from the last deployed version (or, never deployed, from the stored flow). */
      draft: z.strictObject({ savedAt: z.string(), changed: z.boolean() }).nullable(),
      health: flowHealthSchema.nullable(),
    }),
  ),
});
/** One flow or draft as the flow list shows it. */
export type FlowOverview = z.infer<typeof overviewSchema>['flows'][number];
