/**
 * One key for a record on one side of a flow, for maps keyed by both: the node id and the record id joined by a
 * character neither holds in practice (NUL), so that no two pairs give the same key.
 */
export function sideRecordKey(nodeId: string, recordId: string): string {
  return `${nodeId}\u0000${recordId}`;
}

/** One key for an entity on one side of a flow (what a create there is about), for sets and maps keyed by both. */
export function entitySideKey(entityId: string, nodeId: string): string {
  return `${entityId}\u0000${nodeId}`;
}

/** One key for a node of one flow (a trigger's subscription or webhook registration), for maps keyed by both. */
export function flowNodeKey(flowId: string, nodeId: string): string {
  return `${flowId}\u0000${nodeId}`;
}
