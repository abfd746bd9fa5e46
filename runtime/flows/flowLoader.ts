import type { FlowDocument } from '../../nodes';
import { formatIssue, type FlowIssue } from '../../nodes/flow/issues';
import { serializeFlow } from '../../nodes/flow/jsonText';
import { loadFlow } from '../../nodes/flow/load';
import { loadOptionsFor } from '../connectors/index';
import type { ConnectorType } from '../connectors/types';

export type { FlowIssue } from '../../nodes/flow/issues';

export type LoadedFlow =
  | { ok: true; document: FlowDocument; bytes: string; warnings: FlowIssue[] }
  | { ok: false; issues: FlowIssue[] };

/** Validates and migrates flow documents against the connectors this runtime has. */
export type FlowLoader = (input: unknown) => LoadedFlow;

/**
 * A loader that checks trigger connections with `connectors`. On success it returns the document with defaults
 * applied (what the engine runs) and the canonical bytes of the migrated input (what export gives back).
 */
export function createFlowLoader(connectors: Readonly<Record<string, ConnectorType>>): FlowLoader {
  const options = loadOptionsFor(connectors);
  return (input) => {
    const result = loadFlow(input, options);
    if (!result.document || result.issues.some((issue) => issue.severity === 'error')) return { ok: false, issues: result.issues };
    return { ok: true, document: result.document, bytes: serializeFlow(result.migrated), warnings: result.issues };
  };
}

/** One line for a person: `path: message (node "x")`. */
export function describeIssue(issue: FlowIssue): string {
  return formatIssue(issue);
}
