import { isRecord } from '../flow/values';
import { defaultExpressionLimits, type ExpressionLimits, type FlowRecord } from '../types';
import { evaluateExpression } from './expression';

// What the transform form shows while someone types an expression op: evaluated exactly as a pass evaluates it
// (evaluateExpression: the same limits, the same regular-expression engine), so a preview cannot disagree with the
// runtime, and an expression that would run away (`[1..1e7]`, a recursion without end) fails instead of hanging the tab.

/** An expression's value, or why it has none. */
export type Evaluated = { value: unknown } | { error: string };

/** An expression op tried on a sample record. */
export interface ExpressionPreview {
  forward: Evaluated;
  /** The whole backward result, or each field's, or null when the op has no backward expression (or forward failed). */
  backward: Record<string, Evaluated> | { error: string } | null;
  /** Fields where backward(forward(sample)) is not the sample's value. */
  lossy: { field: string; before: unknown; after: unknown }[];
}

/** Evaluates a JSONata expression on a record as a pass would; a failure is a message, never an exception. */
export async function evaluatePreview(source: string, input: unknown, limits: ExpressionLimits = defaultExpressionLimits): Promise<Evaluated> {
  try {
    return { value: await evaluateExpression(source, input, limits, 'preview') };
  } catch (error) {
    return { error: (error as { message?: string }).message ?? String(error) };
  }
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Runs an expression op on `sample`: `forward` into `target`, then the op's `backward` (one expression giving an
 * object, or one expression per field) on forward's result, noting the fields that do not come back as they were.
 */
export async function previewExpressionOp(
  op: { forward: string; target: string; backward: unknown },
  sample: FlowRecord,
  limits: ExpressionLimits = defaultExpressionLimits,
): Promise<ExpressionPreview> {
  const forward = await evaluatePreview(op.forward, sample, limits);
  let backward: ExpressionPreview['backward'] = null;
  const lossy: ExpressionPreview['lossy'] = [];
  if ('value' in forward && op.backward !== null && op.backward !== undefined) {
    const moved = { ...sample, [op.target]: forward.value };
    if (typeof op.backward === 'string') {
      const result = await evaluatePreview(op.backward, moved, limits);
      backward = 'error' in result ? result : Object.fromEntries(Object.entries(isRecord(result.value) ? result.value : {}).map(([k, v]) => [k, { value: v }]));
    } else if (isRecord(op.backward)) {
      const entries = await Promise.all(Object.entries(op.backward).map(async ([field, source]) => [field, await evaluatePreview(String(source), moved, limits)] as const));
      backward = Object.fromEntries(entries);
    }
    if (backward && !('error' in backward)) {
      for (const [field, result] of Object.entries(backward)) {
        const after = (result as { value?: unknown }).value;
        if ('value' in result && field in sample && !sameJson(sample[field], after)) lossy.push({ field, before: sample[field], after });
      }
    }
  }
  return { forward, backward, lossy };
}
