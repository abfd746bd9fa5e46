import { asRecord, isRecord, schemaDefault, useConfigIssues, withKey } from '../forms/configIssues';
import { CheckboxField, NumberField, Section, SelectField, TextField } from '../forms/kit';
import type { NodeFormProps } from '../forms/types';
import { ConnectionFields, CredentialField } from './ConnectionFields';
import { initialConnection } from './connectionForm';
import { DEFAULT_DISPLAY_FIELDS } from './display';
import { detectSchema, triggerConfigSchema, triggerKeyModes, writePermissionLabels, writePermissionsSchema, type TriggerKeyMode } from './schema';

const detectModes = detectSchema.options.map((option) => option.shape.mode.value);
const detectModeLabels: Record<string, string> = { poll: 'Poll on an interval', webhook: 'Webhook', manual: 'Manual runs only' };
const writeDefaults = schemaDefault(triggerConfigSchema.shape.write) as { create: boolean; update: boolean; delete: boolean };
const writeKinds = Object.keys(writePermissionsSchema.shape) as ('create' | 'update' | 'delete')[];
const keyModeLabels: Record<TriggerKeyMode, string> = { own: "this system's own", shared: 'the same key on every side' };

/** What a new detect mode starts with: the schema's defaults, plus an empty credential for webhooks. */
function detectFor(mode: string): Record<string, unknown> {
  if (mode === 'poll') return { mode, intervalMs: (schemaDefault(triggerConfigSchema.shape.detect) as { intervalMs: number }).intervalMs };
  if (mode === 'webhook') return { mode, secret: { credential: '' } };
  return { mode };
}

const text = (value: unknown) => (typeof value === 'string' ? value : '');
const optional = (value: string) => (value === '' ? undefined : value);

/** The trigger form: which system and collection, how changes are detected, what the flow may write there. */
export default function TriggerForm({ config, onChange, issues, env }: NodeFormProps) {
  const c = asRecord(config);
  const problems = useConfigIssues(triggerConfigSchema, config, issues);
  const set = (key: string, value: unknown) => onChange(withKey(c, key, value));

  const connector = text(c.connector);
  const connection = asRecord(c.connection);
  const detect = isRecord(c.detect) ? c.detect : (schemaDefault(triggerConfigSchema.shape.detect) as Record<string, unknown>);
  const write = { ...writeDefaults, ...asRecord(c.write) } as Record<string, unknown>;
  const collections = env.collections ?? [];
  const collection = collections.find((candidate) => candidate.name === c.collection);
  const fieldNames = collection?.fields.map((field) => field.name) ?? [];
  const summary = env.connectors.find((entry) => entry.type === connector);
  const form = summary?.connectionForm ?? null;

  const connectorOptions = env.connectors.map((entry) => ({ value: entry.type, label: entry.title }));
  const changeConnector = (next: string) => {
    // Settings of the old connector mean nothing to the new one: start from the new one's required fields, empty.
    const nextForm = env.connectors.find((entry) => entry.type === next)?.connectionForm;
    onChange({ ...c, connector: next, connection: nextForm ? initialConnection(nextForm) : {} });
  };

  return (
    <div className="sl-form">
      <Section title="System">
        <SelectField label="Connector" value={connector} options={connectorOptions} onChange={changeConnector} error={problems.at('connector')} />
        <ConnectionFields
          connector={connector}
          form={form}
          connection={connection}
          onChange={(next) => set('connection', next)}
          problems={problems}
          credentials={env.credentials}
          loadOptions={env.connectionOptions}
        />
        {env.describeError ? <p className="sl-muted">Fields could not be listed: {env.describeError}</p> : null}
      </Section>
      <Section title="Records">
        <TextField
          label="Collection"
          value={text(c.collection)}
          placeholder="a table or an endpoint"
          suggestions={collections.map((entry) => entry.name)}
          onChange={(value) => set('collection', value)}
          error={problems.at('collection')}
        />
        <TextField label="Key field" value={text(c.key)} suggestions={fieldNames} onChange={(value) => set('key', value)} error={problems.at('key')} />
        <SelectField
          label="Record keys"
          value={text(c.keys) || 'own'}
          options={triggerKeyModes.map((mode) => ({ value: mode, label: keyModeLabels[mode] }))}
          // `own` is the default: left out, so a flow that never chose stays as it was.
          onChange={(value) => set('keys', value === 'own' ? undefined : value)}
          error={problems.at('keys')}
          hint="The same key on every side: a record created here takes the key of the record it comes from (SQLite, PostgreSQL)."
        />
        <TextField
          label="Display field"
          value={text(c.display)}
          placeholder={`first of ${DEFAULT_DISPLAY_FIELDS.join(', ')}`}
          suggestions={fieldNames}
          onChange={(value) => set('display', optional(value))}
          error={problems.at('display')}
          hint="The field that names a record in conflicts and run history, instead of its id."
        />
        <TextField
          label="Updated-at field"
          value={text(c.updatedAt)}
          placeholder="none"
          suggestions={fieldNames}
          onChange={(value) => set('updatedAt', optional(value))}
          error={problems.at('updatedAt')}
          hint="A change timestamp or version; without one, every poll reads everything."
        />
        <TextField
          label="Tag column"
          value={text(c.tagColumn)}
          placeholder="none"
          suggestions={fieldNames}
          onChange={(value) => set('tagColumn', optional(value))}
          error={problems.at('tagColumn')}
        />
        <TextField
          label="Soft-delete column"
          value={text(c.deletedFlag)}
          placeholder="none"
          suggestions={fieldNames}
          onChange={(value) => set('deletedFlag', optional(value))}
          error={problems.at('deletedFlag')}
        />
      </Section>
      <Section title="Change detection" error={problems.at('detect')}>
        <SelectField
          label="Detect changes"
          value={text(detect.mode)}
          options={detectModes.map((mode) => ({ value: mode, label: detectModeLabels[mode] ?? mode }))}
          onChange={(mode) => set('detect', detectFor(mode))}
          error={problems.at('detect', 'mode')}
        />
        {detect.mode === 'poll' ? (
          <NumberField
            label="Interval (ms)"
            value={typeof detect.intervalMs === 'number' ? detect.intervalMs : undefined}
            step={1000}
            min={100}
            onChange={(value) => set('detect', withKey(detect, 'intervalMs', value))}
            error={problems.at('detect', 'intervalMs')}
          />
        ) : null}
        {detect.mode === 'webhook' ? (
          <CredentialField
            label="Webhook secret credential"
            value={text(asRecord(detect.secret).credential)}
            credentials={env.credentials}
            kinds={['token']}
            onChange={(value) => set('detect', { ...detect, secret: { credential: value } })}
            error={problems.within('detect', 'secret')}
            hint="The secret the system signs its deliveries with, stored on the runtime."
          />
        ) : null}
        {detect.mode === 'webhook' && summary?.ownWebhooks !== true ? (
          <>
            <TextField
              label="Record id in an event at"
              value={text(detect.idPath)}
              placeholder="id"
              onChange={(value) => set('detect', withKey(detect, 'idPath', optional(value)))}
              error={problems.at('detect', 'idPath')}
              hint="A dotted path into one event, e.g. data.object.id, when the system does not send {type, id}."
            />
            <TextField
              label="Event type in an event at"
              value={text(detect.typePath)}
              placeholder="type"
              onChange={(value) => set('detect', withKey(detect, 'typePath', optional(value)))}
              error={problems.at('detect', 'typePath')}
              hint="A value containing delete is a delete; anything else an upsert."
            />
          </>
        ) : null}
      </Section>
      <Section title="The flow may" error={problems.at('write')}>
        {writeKinds.map((kind) => (
          <CheckboxField
            key={kind}
            label={writePermissionLabels[kind]}
            checked={write[kind] !== false}
            onChange={(checked) => set('write', { ...writeDefaults, ...asRecord(c.write), [kind]: checked })}
            error={problems.at('write', kind)}
          />
        ))}
      </Section>
    </div>
  );
}
