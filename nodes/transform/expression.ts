import jsonata from 'jsonata';
import { z } from 'zod';

/** Parses a JSONata expression, or says where and why it does not parse. */
export function parseExpressionError(source: string): string | null {
  try {
    jsonata(source);
    return null;
  } catch (error) {
    const detail = error as { message?: string; position?: number };
    const where = typeof detail.position === 'number' ? ` at character ${detail.position}` : '';
    return `expression does not parse${where}: ${detail.message ?? String(error)}`;
  }
}

/** A JSONata expression that must parse; its evaluation is sandboxed separately. */
export const jsonataExpression = z
  .string({ error: 'must be a JSONata expression (text)' })
  .min(1, 'must be a JSONata expression, not empty')
  .superRefine((source, ctx) => {
    const problem = parseExpressionError(source);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
