import { asRecord, isRecord, schemaDefault, useConfigIssues, withKey } from '../../editor/forms/configIssues';
import { CheckboxField, NumberField, Section, SelectField, TextArea, TextField } from '../../editor/forms/kit';
import type { NodeFormProps } from '../../editor/forms/types';
import { detectSchema, triggerConfigSchema, writePermissionsSchema } from './schema';

/** Connection settings each built-in connector reads (SPEC §9); other connectors get a JSON box. */
const connectionFields: Record<string, { key: string; label: string; placeholder: string }[]> = {
  sqlite: [{ key: 'file', label: 'Database file', placeholder: 'crm.db' }],
  postgres: [{ key: 'url', label: 'Connection URL', placeholder: 'postgres://user@host/db' }],
  http: [{ key: 'url', label: 'Base URL', placeholder: 'https://api.example.com/contacts' }],
  memory: [{ key: 'store', label: 'Store name', placeholder: 'contacts' }],
};

const detectModes = detectSchema.options.map((option) => option.shape.mode.value);
const detectModeLabels: Record<string, string> = { poll: 'Poll on an interval', webhook: 'Webhook', manual: 'Manual runs only' };
const writeDefaults = schemaDefault(triggerConfigSchema.shape.write) as { create: boolean; update: boolean; delete: boolean };
const writeKinds = Object.keys(writePermissionsSchema.shape) as ('create' | 'update' | 'delete')[];

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
  const credential = typeof connection.credential === 'string' ? connection.credential : null;
  const detect = isRecord(c.detect) ? c.detect : (schemaDefault(triggerConfigSchema.shape.detect) as Record<string, unknown>);
  const write = { ...writeDefaults, ...asRecord(c.write) } as Record<string, unknown>;
  const collections = env.collections ?? [];
  const collection = collections.find((candidate) => candidate.name === c.collection);
  const fieldNames = collection?.fields.map((field) => field.name) ?? [];
  const credentialNames = env.credentials?.map((entry) => entry.name) ?? [];

  const connectorOptions = env.connectors.map((entry) => ({ value: entry.type, label: entry.title }));
  const changeConnector = (next: string) => {
    // Settings of the old connector mean nothing to the new one; a credential may still apply.
    const kept = credential !== null ? { credential } : Object.fromEntries((connectionFields[next] ?? []).map((field) => [field.key, '']));
    onChange({ ...c, connector: next, connection: kept });
  };

  return (
    <div className="sl-form">
      <Section title="System">
        <SelectField label="Connector" value={connector} options={connectorOptions} onChange={changeConnector} error={problems.at('connector')} />
        {env.credentials ? (
          <SelectField
            label="Stored credential"
            value={credential ?? ''}
            options={[{ value: '', label: 'None: enter the details below' }, ...credentialNames.map((name) => ({ value: name, label: name }))]}
            onChange={(name) => set('connection', name === '' ? Object.fromEntries((connectionFields[connector] ?? []).map((f) => [f.key, ''])) : { credential: name })}
            error={problems.at('connection', 'credential')}
            hint="Secrets stay on the runtime; the flow only names the credential."
          />
        ) : (
          <TextField
            label="Stored credential"
            value={credential ?? ''}
            placeholder="none"
            onChange={(name) => set('connection', name === '' ? Object.fromEntries((connectionFields[connector] ?? []).map((f) => [f.key, ''])) : { credential: name })}
            error={problems.at('connection', 'credential')}
            hint="The name of a credential stored on the runtime, or empty to enter the details below."
          />
        )}
        {credential === null
          ? connector in connectionFields
            ? (connectionFields[connector] ?? []).map((field) => (
                <TextField
                  key={field.key}
                  label={field.label}
                  value={text(connection[field.key])}
                  placeholder={field.placeholder}
                  onChange={(value) => set('connection', { ...connection, [field.key]: value })}
                  error={problems.at('connection', field.key)}
                />
              ))
            : (
                <TextArea
                  label="Connection (JSON)"
                  value={JSON.stringify(connection, null, 2)}
                  rows={4}
                  onChange={(value) => {
                    try {
                      const parsed: unknown = JSON.parse(value);
                      if (isRecord(parsed)) set('connection', parsed);
                    } catch {
                      // keep the last valid connection until the JSON parses again
                    }
                  }}
                  error={problems.within('connection')}
                />
              )
          : null}
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
          <TextField
            label="Webhook secret credential"
            value={text(asRecord(detect.secret).credential)}
            suggestions={credentialNames}
            onChange={(value) => set('detect', { ...detect, secret: { credential: value } })}
            error={problems.within('detect', 'secret')}
          />
        ) : null}
      </Section>
      <Section title="The flow may" error={problems.at('write')}>
        {writeKinds.map((kind) => (
          <CheckboxField
            key={kind}
            label={`${kind[0]?.toUpperCase()}${kind.slice(1)} records`}
            checked={write[kind] !== false}
            onChange={(checked) => set('write', { ...writeDefaults, ...asRecord(c.write), [kind]: checked })}
            error={problems.at('write', kind)}
          />
        ))}
      </Section>
    </div>
  );
}
