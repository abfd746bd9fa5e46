import { useEffect } from 'react';
import { TextField } from '../../nodes/forms/kit';
import { useFlowStore, useFlowStoreApi } from '../store/context';
import { flowIdFixed, STORED_FLOW_ID } from '../store/flowSlice';

/** The versions this flow was deployed with, newest first, each restorable onto the canvas as the draft. */
function VersionHistory() {
  const store = useFlowStoreApi();
  const savedId = useFlowStore((state) => state.savedId);
  const deployedVersion = useFlowStore((state) => state.deployedVersion);
  const versions = useFlowStore((state) => state.versions);
  useEffect(() => {
    if (savedId !== null) void store.getState().loadVersions();
  }, [store, savedId, deployedVersion]);
  if (savedId === null || deployedVersion === null) return <p className="sl-muted">Not deployed yet: each deploy is kept here as a version you can go back to.</p>;
  return (
    <section className="sl-versions" aria-label="Deployed versions">
      <h3>Deployed versions</h3>
      <ul className="sl-list">
        {versions?.map((entry) => (
          <li key={entry.version} className="sl-version">
            <span>
              Version {entry.version}
              {entry.version === deployedVersion ? ' (latest)' : ''}
              <span className="sl-muted"> · {new Date(entry.deployedAt).toLocaleString()}</span>
            </span>
            <button type="button" className="sl-small" aria-label={`Restore this version (version ${entry.version})`} onClick={() => void store.getState().restoreVersion(entry.version)}>
              Restore this version
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** What the side panel shows with no single node selected: the flow's own settings, or the multi-selection. */
export function FlowPanel({ selectedCount }: { selectedCount: number }) {
  const store = useFlowStoreApi();
  const meta = useFlowStore((state) => state.meta);
  const idFixed = useFlowStore(flowIdFixed);
  const counts = useFlowStore((state) => `${state.nodes.length} nodes · ${state.edges.length} edges`);
  const documentIssues = useFlowStore((state) => state.issues.filter((issue) => issue.nodeId === undefined && issue.edgeId === undefined).length);
  return (
    <aside className="sl-panel" aria-label="Flow settings">
      <h2>Flow</h2>
      <TextField label="Flow name" value={meta.name} onChange={(name) => store.getState().setMeta({ name })} />
      <TextField
        label="Flow id"
        value={meta.id}
        onChange={(id) => store.getState().setMeta({ id })}
        readOnly={idFixed}
        hint={idFixed ? STORED_FLOW_ID : 'The runtime keeps the flow under this id; export names the file after it.'}
      />
      <p className="sl-muted">{counts}</p>
      {documentIssues > 0 ? (
        <button type="button" onClick={() => store.getState().openDrawer('issues')}>
          Show flow issues
        </button>
      ) : null}
      {selectedCount > 1 ? (
        <>
          <p>{selectedCount} nodes selected.</p>
          <button type="button" className="sl-danger" onClick={() => store.getState().deleteSelection()}>
            Delete selected
          </button>
        </>
      ) : (
        <p className="sl-muted">
          Drag node types from the palette onto the canvas, connect a node's right side to the next node's left side, and select a node to
          configure it.
        </p>
      )}
      <VersionHistory />
      <button type="button" className="sl-danger" onClick={() => store.getState().deleteFlow(store.getState().meta.id)}>
        Delete flow
      </button>
    </aside>
  );
}
