import { useId, useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { connectionRefusal } from '../document/connectionRules';
import { useFlowStore, useFlowStoreApi } from '../store/context';

/** A node as a person reads it in a list: its label, then its id when the label is not the id. */
function named(node: { id: string; label: string | undefined }): string {
  return node.label && node.label !== node.id ? `${node.label} (${node.id})` : node.id;
}

/**
 * The selected node's edges, drawn and removed without a pointer: its edges listed with a button to remove each, and
 * "Connect to…", a list of the nodes it may be connected to (SPEC §4's rules applied), out of its right side or into
 * its left side (SPEC §2).
 */
export function NodeConnections({ nodeId }: { nodeId: string }) {
  const store = useFlowStoreApi();
  const selectId = useId();
  // What the list needs only: positions change on every drag frame and are not shown here.
  const nodes = useFlowStore(useShallow((state) => state.nodes.map((node) => `${node.id}\u0000${node.data.type}\u0000${node.data.label ?? ''}`)));
  const edges = useFlowStore((state) => state.edges);
  const [choice, setChoice] = useState('');
  const [problem, setProblem] = useState<string | null>(null);

  const graph = useMemo(() => {
    const list = nodes.map((entry) => {
      const [id, type, label] = entry.split('\u0000') as [string, string, string];
      return { id, label: label === '' ? undefined : label, data: { type } };
    });
    return { nodes: list, edges };
  }, [nodes, edges]);
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  const mine = edges.filter((edge) => edge.source === nodeId || edge.target === nodeId);
  const others = graph.nodes.filter((node) => node.id !== nodeId);
  const outOf = others.filter((node) => connectionRefusal(graph, nodeId, node.id) === null);
  const into = others.filter((node) => connectionRefusal(graph, node.id, nodeId) === null);
  const self = named({ id: nodeId, label: byId.get(nodeId)?.label });

  const connect = () => {
    const [direction, other] = [choice.slice(0, choice.indexOf(':')), choice.slice(choice.indexOf(':') + 1)];
    if (!other) return;
    const reason = store.getState().connect(direction === 'out' ? { source: nodeId, target: other, sourceHandle: null, targetHandle: null } : { source: other, target: nodeId, sourceHandle: null, targetHandle: null });
    setProblem(reason);
    if (!reason) setChoice('');
  };

  return (
    <section className="sl-connections" aria-label={`Edges of ${nodeId}`}>
      <h3>Edges</h3>
      {mine.length === 0 ? <p className="sl-muted">Not connected yet.</p> : null}
      <ul className="sl-list">
        {mine.map((edge) => {
          const from = named({ id: edge.source, label: byId.get(edge.source)?.label });
          const to = named({ id: edge.target, label: byId.get(edge.target)?.label });
          return (
            <li key={edge.id} className="sl-connection">
              <span>
                {from} → {to}
              </span>
              <button type="button" className="sl-remove" aria-label={`Remove the edge from ${edge.source} to ${edge.target}`} onClick={() => store.getState().deleteElements([], [edge.id])}>
                ✕
              </button>
            </li>
          );
        })}
      </ul>
      {outOf.length + into.length > 0 ? (
        <div className="sl-field">
          <label htmlFor={selectId}>Connect to…</label>
          <div className="sl-pair__row">
            <select id={selectId} value={choice} onChange={(event) => setChoice(event.target.value)} aria-describedby={problem ? `${selectId}-problem` : undefined}>
              <option value="">Choose a node</option>
              {outOf.length > 0 ? (
                <optgroup label={`From ${self}’s right side to`}>
                  {outOf.map((node) => (
                    <option key={`out:${node.id}`} value={`out:${node.id}`}>
                      {self} → {named(node)}
                    </option>
                  ))}
                </optgroup>
              ) : null}
              {into.length > 0 ? (
                <optgroup label={`Into ${self}’s left side from`}>
                  {into.map((node) => (
                    <option key={`in:${node.id}`} value={`in:${node.id}`}>
                      {named(node)} → {self}
                    </option>
                  ))}
                </optgroup>
              ) : null}
            </select>
            <button type="button" disabled={choice === ''} onClick={connect}>
              Connect
            </button>
          </div>
          {problem ? (
            <span className="sl-field__error" id={`${selectId}-problem`} role="alert">
              {problem}
            </span>
          ) : null}
        </div>
      ) : (
        <p className="sl-muted">No other node can be connected to this one: a trigger has exactly one edge, and an edge may not close a cycle.</p>
      )}
    </section>
  );
}
