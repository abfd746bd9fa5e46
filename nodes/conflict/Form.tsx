import { asRecord, isRecord, schemaDefault, useConfigIssues, withKey } from '../forms/configIssues';
import { freeRowName, repeatedNameMessage, repeatsName, useKeyedRows } from '../forms/keyedRows';
import { NumberField, Section, SelectField, TextField } from '../forms/kit';
import type { NodeFormProps } from '../forms/types';
import { conflictConfigSchema } from './schema';

const deleteOptions = conflictConfigSchema.shape.deletes.unwrap().options;
const deleteLabels: Record<string, string> = {
  propagate: 'Propagate: delete on the other sides',
  ignore: 'Ignore: keep the record elsewhere',
  review: 'Review: file a conflict to decide',
};
const massDeleteDefaults = schemaDefault(conflictConfigSchema.shape.massDelete) as Record<string, number>;
const breakerDefaults = schemaDefault(conflictConfigSchema.shape.breaker) as Record<string, number>;

/** A policy as one select value: `last-write-wins`, `manual`, or `prefer:<trigger id>`. */
function policyValue(policy: unknown): string {
  if (typeof policy === 'string') return policy;
  if (isRecord(policy) && typeof policy.prefer === 'string') return `prefer:${policy.prefer}`;
  return '';
}

function policyFrom(value: string): unknown {
  return value.startsWith('prefer:') ? { prefer: value.slice('prefer:'.length) } : value;
}

/** The conflict form: the policy and its per-field overrides, how records are matched, what deletes do. */
export default function ConflictForm({ config, onChange, issues, env }: NodeFormProps) {
  const c = asRecord(config);
  const problems = useConfigIssues(conflictConfigSchema, config, issues);
  const set = (key: string, value: unknown) => onChange(withKey(c, key, value));

  const policyOptions = [
    { value: 'last-write-wins', label: 'Last write wins' },
    { value: 'manual', label: 'Manual: file a conflict' },
    ...env.triggers.map((trigger) => ({ value: `prefer:${trigger.id}`, label: `Prefer ${trigger.label}` })),
  ];
  // Rows, not the object: a name typed on the way to another must not replace the override that has it.
  const overrides = useKeyedRows(asRecord(c.fields), (fields) => set('fields', fields));
  const rows = overrides.rows;
  const match = Array.isArray(c.match) ? c.match.map((name) => (typeof name === 'string' ? name : '')) : [];
  const knownFields = [...new Set([...env.fields.left.names, ...env.fields.right.names])].sort();
  const massDelete = { ...massDeleteDefaults, ...asRecord(c.massDelete) } as Record<string, unknown>;
  const breaker = { ...breakerDefaults, ...asRecord(c.breaker) } as Record<string, unknown>;

  return (
    <div className="sl-form">
      <Section title="When sides disagree">
        <SelectField
          label="Policy"
          value={policyValue(c.policy ?? schemaDefault(conflictConfigSchema.shape.policy))}
          options={policyOptions}
          onChange={(value) => set('policy', policyFrom(value))}
          error={problems.within('policy')}
        />
      </Section>
      <Section title="Per-field overrides" error={problems.at('fields')}>
        {rows.map(([field, policy], index) => (
          <div className="sl-pair__row" key={index}>
            <TextField
              label={`Override ${index + 1} field`}
              value={field}
              suggestions={knownFields}
              onChange={(to) => overrides.update(rows.map((row, i) => (i === index ? [to, policy] : row)))}
              error={repeatsName(rows, index) ? repeatedNameMessage('override') : undefined}
            />
            <SelectField
              label={`Override ${index + 1} policy`}
              value={policyValue(policy)}
              options={policyOptions}
              onChange={(value) => overrides.update(rows.map((row, i) => (i === index ? [field, policyFrom(value)] : row)))}
              error={problems.within('fields', field)}
            />
            <button type="button" className="sl-remove" aria-label={`Remove override ${index + 1}`} onClick={() => overrides.update(rows.filter((_, i) => i !== index))}>
              ✕
            </button>
          </div>
        ))}
        <button type="button" onClick={() => overrides.update([...rows, [freeRowName(rows), 'last-write-wins']])}>
          Add override
        </button>
      </Section>
      <Section title="Match unlinked records by" error={problems.at('match')}>
        {match.map((name, index) => (
          <div className="sl-pair__row" key={index}>
            <TextField
              label={`Match field ${index + 1}`}
              value={name}
              suggestions={knownFields}
              onChange={(value) => set('match', match.map((old, i) => (i === index ? value : old)))}
              error={problems.at('match', index)}
            />
            <button type="button" className="sl-remove" aria-label={`Remove match field ${index + 1}`} onClick={() => set('match', match.filter((_, i) => i !== index))}>
              ✕
            </button>
          </div>
        ))}
        <button type="button" onClick={() => set('match', [...match, ''])}>
          Add match field
        </button>
      </Section>
      <Section title="Deletes">
        <SelectField
          label="When a record is deleted"
          value={typeof c.deletes === 'string' ? c.deletes : String(schemaDefault(conflictConfigSchema.shape.deletes))}
          options={deleteOptions.map((option) => ({ value: option, label: deleteLabels[option] ?? option }))}
          onChange={(value) => set('deletes', value)}
          error={problems.at('deletes')}
        />
      </Section>
      <details className="sl-advanced">
        <summary>Safety limits</summary>
        <NumberField
          label="Mass delete: largest share of a side (0–1)"
          value={typeof massDelete.maxShare === 'number' ? massDelete.maxShare : undefined}
          step={0.05}
          min={0}
          max={1}
          onChange={(value) => set('massDelete', withKey(massDelete, 'maxShare', value))}
          error={problems.at('massDelete', 'maxShare')}
        />
        <NumberField
          label="Mass delete: from this many records"
          value={typeof massDelete.minCount === 'number' ? massDelete.minCount : undefined}
          min={1}
          onChange={(value) => set('massDelete', withKey(massDelete, 'minCount', value))}
          error={problems.at('massDelete', 'minCount')}
        />
        <NumberField
          label="Breaker: writes allowed per record"
          value={typeof breaker.maxWrites === 'number' ? breaker.maxWrites : undefined}
          min={1}
          onChange={(value) => set('breaker', withKey(breaker, 'maxWrites', value))}
          error={problems.at('breaker', 'maxWrites')}
        />
        <NumberField
          label="Breaker: window (ms)"
          value={typeof breaker.windowMs === 'number' ? breaker.windowMs : undefined}
          min={1000}
          step={1000}
          onChange={(value) => set('breaker', withKey(breaker, 'windowMs', value))}
          error={problems.at('breaker', 'windowMs')}
        />
      </details>
    </div>
  );
}
