import { useReactFlow } from '@xyflow/react';
import { useFlowStore, useFlowStoreApi } from '../store/context';
import type { FlowIssue } from '../store/types';
import { useNodeNames } from './useNodeNames';

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
                {settingOf(issue.path) ? <span className="sl-setting">{settingOf(issue.path)}</span> : null} {issue.message} <code className="sl-path">{issue.path || '(document)'}</code>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {issues.length === 0 ? <p className="sl-muted">No issues: the flow is valid.</p> : <IssueTable issues={issues} reveal={reveal} />}
    </>
  );
}

/** The setting a document path points at, in words: `nodes[2].config.fields[1].direction` → `fields › pair 2 › direction`. */
export function settingOf(path: string): string {
  const inConfig = /^nodes\[\d+\]\.config\.?(.*)$/.exec(path);
  const rest = inConfig ? (inConfig[1] ?? '') : path.replace(/^(nodes|edges)\[\d+\]\.?/, '');
  return rest
    .replace(/\[(\d+)\]/g, (_, index: string) => `.${Number(index) + 1}`)
    .split('.')
    .filter((part) => part !== '')
    .map((part) => (/^\d+$/.test(part) ? `#${part}` : part.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()))
    .join(' › ');
}

/** The validator's message without the path it may start with: the table says where. */
const plainMessage = (issue: FlowIssue) => issue.message.replace(/^[^\s:]+: /, '');

function IssueTable({ issues, reveal }: { issues: FlowIssue[]; reveal(nodeId: string | undefined, edgeId: string | undefined): void }) {
  const names = useNodeNames();
  return (
    <table className="sl-table">
      <thead>
        <tr>
          <th scope="col">Where</th>
          <th scope="col">Problem</th>
          <th scope="col">Path in the document</th>
        </tr>
      </thead>
      <tbody>
        {issues.map((issue, index) => {
          const setting = settingOf(issue.path);
          return (
            <tr key={index} className={`sl-issue--${issue.severity}`}>
              <td>
                {issue.nodeId || issue.edgeId ? (
                  <button type="button" className="sl-link" onClick={() => reveal(issue.nodeId, issue.edgeId)}>
                    {issue.nodeId ? (names[issue.nodeId] ?? issue.nodeId) : `edge ${issue.edgeId}`}
                  </button>
                ) : (
                  'the flow'
                )}
              </td>
              <td>
                <strong>{issue.severity === 'error' ? 'Error' : 'Warning'}:</strong> {setting ? <span className="sl-setting">{setting}</span> : null} {plainMessage(issue)}
              </td>
              <td>
                <code className="sl-path">{issue.path || '(document)'}</code>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
