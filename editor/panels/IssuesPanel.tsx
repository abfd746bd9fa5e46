import { useReactFlow } from '@xyflow/react';
import { useFlowStore, useFlowStoreApi } from '../store/context';
import type { FlowIssue } from '../store/types';

/** Every issue of the flow with its document path; an issue on a node or edge leads to it on the canvas. */
export function IssuesPanel() {
  const issues = useFlowStore((state) => state.issues);
  const serverIssues = useFlowStore((state) => state.serverIssues);
  const store = useFlowStoreApi();
  const { fitView } = useReactFlow();

  const reveal = (nodeId: string | undefined, edgeId: string | undefined) => {
    const state = store.getState();
    const edge = edgeId ? state.edges.find((candidate) => candidate.id === edgeId) : undefined;
    const ids = nodeId ? [nodeId] : edge ? [edge.source, edge.target] : [];
    const present = ids.filter((id) => state.nodes.some((node) => node.id === id));
    if (present.length === 0) return;
    state.selectOnly(present);
    void fitView({ nodes: present.map((id) => ({ id })), duration: 300, maxZoom: 1 });
  };

  return (
    <>
      {serverIssues && serverIssues.length > 0 ? (
        <section className="sl-error" aria-label="Refused by the runtime">
          <strong>The runtime refused the flow:</strong>
          <ul>
            {serverIssues.map((issue, index) => (
              <li key={index}>
                <code>{issue.path || '(document)'}</code> {issue.message}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {issues.length === 0 ? <p className="sl-muted">No issues: the flow is valid.</p> : <IssueTable issues={issues} reveal={reveal} />}
    </>
  );
}

function IssueTable({ issues, reveal }: { issues: FlowIssue[]; reveal(nodeId: string | undefined, edgeId: string | undefined): void }) {
  return (
    <table className="sl-table">
      <thead>
        <tr>
          <th scope="col">Severity</th>
          <th scope="col">Where</th>
          <th scope="col">Path</th>
          <th scope="col">Problem</th>
        </tr>
      </thead>
      <tbody>
        {issues.map((issue, index) => (
          <tr key={index} className={`sl-issue--${issue.severity}`}>
            <td>{issue.severity}</td>
            <td>
              {issue.nodeId || issue.edgeId ? (
                <button type="button" className="sl-link" onClick={() => reveal(issue.nodeId, issue.edgeId)}>
                  {issue.nodeId ? `node ${issue.nodeId}` : `edge ${issue.edgeId}`}
                </button>
              ) : (
                'flow'
              )}
            </td>
            <td>
              <code>{issue.path || '(document)'}</code>
            </td>
            <td>{issue.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
