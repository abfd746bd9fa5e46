import { useEffect, useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { isNodeType, nodeRegistry } from '../../nodes';
import { TextField } from '../../nodes/forms/kit';
import type { FormEnvironment, NodeUi } from '../../nodes/forms/types';
import { nodeUi } from '../../nodes/ui';
import { NodeIcon } from '../canvas/nodeIcons';
import type { CanvasNode } from '../document/canvasDocument';
import { connectorEnvironment } from '../forms/connectorForms';
import { fieldsOnSide } from '../forms/fieldDiscovery';
import { useFlowStore, useFlowStoreApi } from '../store/context';
import type { FlowIssue } from '../store/types';
import { NodeConnections } from './NodeConnections';

/** Connectors offered when the runtime cannot be asked: the ones SPEC §9 and the built-in registry name. */
export const FALLBACK_CONNECTORS = [
  { type: 'sqlite', title: 'SQLite' },
  { type: 'postgres', title: 'PostgreSQL' },
  { type: 'http', title: 'HTTP (REST)' },
  { type: 'memory', title: 'Memory (tests and demos)' },
];

const NO_ISSUES: FlowIssue[] = [];

/** Nodes reduced to what field discovery reads; unchanged while someone drags, so discovery does not re-run per frame. */
function useGraphContent() {
  const ids = useFlowStore(useShallow((state) => state.nodes.map((node) => node.id)));
  const datas = useFlowStore(useShallow((state) => state.nodes.map((node) => node.data)));
  const edges = useFlowStore((state) => state.edges);
  const nodes = useMemo(() => ids.map((id, i) => ({ id, data: datas[i] }) as CanvasNode), [ids, datas]);
  return { nodes, edges };
}

/** The list of one node's issues, with their document paths. */
export function IssueList({ issues, label }: { issues: FlowIssue[]; label: string }) {
  if (issues.length === 0) return null;
  return (
    <section className="sl-issues" aria-label={label}>
      <h3>
        {issues.length} issue{issues.length === 1 ? '' : 's'}
      </h3>
      <ul>
        {issues.map((issue, index) => (
          <li key={index} className={`sl-issue sl-issue--${issue.severity}`}>
            <code>{issue.path || '(document)'}</code> {issue.message}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The settings of the one selected node: id, label, its issues, and its type's form. */
export function NodePanel({ nodeId }: { nodeId: string }) {
  const store = useFlowStoreApi();
  // The node's data only: its position changes on every drag frame, and the form does not show it.
  const data = useFlowStore((state) => state.nodes.find((candidate) => candidate.id === nodeId)?.data);
  const issues = useFlowStore((state) => state.issuesByNode[nodeId] ?? NO_ISSUES);
  const server = useFlowStore((state) => state.server);
  const described = useFlowStore((state) => state.described);
  const graph = useGraphContent();
  const [draftId, setDraftId] = useState(nodeId);
  const [idError, setIdError] = useState<string | undefined>();
  const config = data?.config;
  const type = data?.type ?? '';
  const ui: NodeUi | null = isNodeType(type) ? nodeUi[type] : null;
  const showsCollections = ui?.showsCollections === true;
  const showsSideFields = ui?.showsSideFields === true;

  // Ask the runtime for the fields of the triggers this form can use, once their connection is filled in.
  useEffect(() => {
    if (!showsCollections && !showsSideFields) return;
    const timer = setTimeout(() => {
      const state = store.getState();
      const wanted = showsCollections ? [nodeId] : state.nodes.filter((candidate) => candidate.data.type === 'trigger').map((candidate) => candidate.id);
      for (const id of wanted) void state.describeTrigger(id);
    }, 400);
    return () => clearTimeout(timer);
  }, [store, nodeId, showsCollections, showsSideFields, config]);

  const env = useMemo((): FormEnvironment => {
    const triggers = graph.nodes
      .filter((candidate) => candidate.data.type === 'trigger')
      .map((candidate) => ({ id: candidate.id, label: candidate.data.label ? `${candidate.data.label} (${candidate.id})` : candidate.id }));
    return {
      ...connectorEnvironment(server.connectors ?? FALLBACK_CONNECTORS, server.credentials),
      credentials: server.credentials,
      collections: described[nodeId]?.collections ?? null,
      describeError: described[nodeId]?.error ?? null,
      triggers,
      fields: {
        left: showsSideFields ? fieldsOnSide(graph.nodes, graph.edges, described, nodeId, 'left') : { names: [], described: false },
        right: showsSideFields ? fieldsOnSide(graph.nodes, graph.edges, described, nodeId, 'right') : { names: [], described: false },
      },
      ...(server.reachable === false ? {} : { realSample: () => store.getState().sampleRecord(nodeId) }),
    };
  }, [showsSideFields, graph, server, described, nodeId, store]);

  if (!data) return null;
  const known = isNodeType(type);
  const Form = ui?.Form ?? null;

  const commitId = (value: string) => {
    const reason = store.getState().renameNode(nodeId, value.trim());
    setIdError(reason ?? undefined);
  };

  return (
    <aside className="sl-panel" aria-label="Node settings">
      <h2>
        <NodeIcon type={known ? type : 'unknown'} size={18} /> {known ? nodeRegistry[type].title : `Unknown type "${type}"`}
      </h2>
      {known ? <p className="sl-muted">{nodeRegistry[type].description}</p> : null}
      <TextField
        label="Node id"
        value={draftId}
        onChange={(value) => {
          setDraftId(value);
          setIdError(undefined);
        }}
        onCommit={commitId}
        error={idError}
        hint="Edges and policies refer to nodes by id; renaming updates them."
      />
      <TextField label="Label" value={data.label ?? ''} placeholder={nodeId} onChange={(value) => store.getState().setLabel(nodeId, value)} />
      <IssueList issues={issues} label={`Issues of node ${nodeId}`} />
      <NodeConnections nodeId={nodeId} />
      {Form ? (
        <Form nodeId={nodeId} config={config} onChange={(next) => store.getState().updateConfig(nodeId, next)} issues={issues} env={env} />
      ) : (
        <div className="sl-form">
          <p>The editor does not know this node type. The node is kept as it is, so exporting gives it back unchanged.</p>
          <pre className="sl-json">{JSON.stringify(config, null, 2)}</pre>
        </div>
      )}
      <button type="button" className="sl-danger" onClick={() => store.getState().deleteElements([nodeId], [])}>
        Delete node
      </button>
    </aside>
  );
}
