import { useEffect, useState } from 'react';
import { asRecord, useConfigIssues } from '../forms/configIssues';
import { Section, SelectField, TextArea } from '../forms/kit';
import type { NodeFormProps } from '../forms/types';
import { evaluateExpression } from '../transform/expression';
import { defaultExpressionLimits } from '../types';
import { filterConfigSchema } from './schema';

const directionOptions = filterConfigSchema.shape.directions.unwrap().options;
const directionLabels: Record<string, string> = {
  both: 'Both ways',
  forward: 'Forward only (left to right)',
  backward: 'Backward only (right to left)',
};

/** The filter form: a JSONata condition, tried on a sample record as it is typed, and the directions it applies in. */
export default function FilterForm({ config, onChange, issues }: NodeFormProps) {
  const c = asRecord(config);
  const problems = useConfigIssues(filterConfigSchema, config, issues);
  const condition = typeof c.condition === 'string' ? c.condition : '';
  const [sampleText, setSampleText] = useState('{}');
  const [result, setResult] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    void (async () => {
      let text: string;
      try {
        // Evaluated as a pass evaluates it: the same limits and regular-expression engine.
        const value: unknown = await evaluateExpression(condition, JSON.parse(sampleText), defaultExpressionLimits, 'preview');
        text = value === true ? 'passes' : `is dropped (the condition gives ${value === undefined ? 'nothing' : JSON.stringify(value)})`;
      } catch (error) {
        text = `cannot be tried: ${(error as { message?: string }).message ?? String(error)}`;
      }
      if (!cancelled) setResult(condition === '' ? null : text);
    })();
    return () => {
      cancelled = true;
    };
  }, [condition, sampleText]);

  return (
    <div className="sl-form">
      <Section title="Let records pass when">
        <TextArea
          label="Condition"
          value={condition}
          onChange={(value) => onChange({ ...c, condition: value })}
          error={problems.at('condition')}
          hint="JSONata over the record, e.g. status != 'archived'"
        />
        <SelectField
          label="Applies"
          value={typeof c.directions === 'string' ? c.directions : 'both'}
          options={directionOptions.map((option) => ({ value: option, label: directionLabels[option] ?? option }))}
          onChange={(value) => onChange({ ...c, directions: value })}
          error={problems.at('directions')}
        />
      </Section>
      <Section title="Try it">
        <TextArea label="Sample record" value={sampleText} rows={3} onChange={setSampleText} />
        {result ? (
          <p className="sl-preview" role="status">
            The sample {result}.
          </p>
        ) : null}
      </Section>
    </div>
  );
}
