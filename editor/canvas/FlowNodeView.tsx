import { Handle, Position, type NodeProps } from '@xyflow/react';
import { memo, useMemo } from 'react';
import { isNodeType, nodeRegistry } from '../../nodes';
import type { TriggerStatus } from '../../runtime/api/schemas';
import type { CanvasNode } from '../document/canvasDocument';
import { useFlowStore, useFlowStoreApi } from '../store/context';
import { NodeIcon } from './nodeIcons';
import { summarizeNode } from './summarizeNode';

function formatTime(iso: string | null): string {
  if (!iso) return 'never';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/**
 * What the runtime reports of a trigger while it runs (the status poll): records in sync, records written in the last
 * hour, failing records, open conflicts, and the system being out of reach when the last pass could not use it.
 */
const TriggerLive = memo(function TriggerLive({ nodeId }: { nodeId: string }) {
  const status = useFlowStore((state) => state.status[nodeId]);
  if (!status) return null;
  const { problem } = status;
  return (
    <div className="sl-node__live" data-testid="trigger-status">
      <div>
        <span data-testid="live-synced">{status.synced} synced</span> ·{' '}
        <span data-testid="live-changes">{plural(status.changesLastHour, 'change')} in the last hour</span>
      </div>
      <div>
        <span data-testid="live-failing" className={status.failing > 0 ? 'sl-live--bad' : undefined}>
          {status.failing} failing
        </span>{' '}
        ·{' '}
        <span data-testid="live-conflicts" className={status.openConflicts > 0 ? 'sl-live--attention' : undefined}>
          {plural(status.openConflicts, 'open conflict')}
        </span>
      </div>
      {problem ? (
        <div className="sl-node__problem" data-testid="live-problem" title={problem.message}>
          {problem.status === 'stopped' ? 'Stopped by its system' : 'Its system could not be reached'}: {fit(problem.message, 90)}
        </div>
      ) : null}
      <WebhookLine webhook={status.webhook} />
      <div className="sl-node__lastpass">last pass {formatTime(status.lastPassAt)}</div>
    </div>
  );
});

/**
 * The webhook the runtime keeps registered with the trigger's system: said only when a person should act or know —
 * the system refused it (tried again meanwhile), or registered it with a note (fields it will not watch).
 */
function WebhookLine({ webhook }: { webhook: TriggerStatus['webhook'] }) {
  if (!webhook) return null;
  if (webhook.error !== null) {
    return (
      <div className="sl-node__problem" data-testid="live-webhook" title={`${webhook.url}: ${webhook.error}`}>
        Webhook not registered (trying again): {fit(webhook.error, 90)}
      </div>
    );
  }
  if (!webhook.registered || webhook.notes.length === 0) return null;
  const notes = webhook.notes.join(' ');
  return (
    <div className="sl-node__note" data-testid="live-webhook" title={notes}>
      Webhook: {fit(notes, 90)}
    </div>
  );
}

/** The open conflicts waiting where the records meet, opening the inbox. */
const ConflictLive = memo(function ConflictLive({ nodeId }: { nodeId: string }) {
  const open = useFlowStore((state) => state.conflictStatus[nodeId]);
  const store = useFlowStoreApi();
  if (open === undefined) return null;
  if (open === 0) {
    return (
      <div className="sl-node__live" data-testid="conflict-status">
        No open conflicts
      </div>
    );
  }
  return (
    <div className="sl-node__live" data-testid="conflict-status">
      <button type="button" className="nodrag sl-node__inbox" onClick={() => store.getState().openDrawer('conflicts')}>
        {plural(open, 'open conflict')}: open the inbox
      </button>
    </div>
  );
});

/**
 * Shortens text to fit the node's fixed width. Done here rather than with CSS ellipsis: `overflow: hidden` gives
 * every node two clip regions, which the browser re-examines on every frame of a drag over hundreds of nodes.
 */
function fit(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The validation badge: subscribes to this node's issues only, so one node's errors never re-render the others. */
const IssueBadge = memo(function IssueBadge({ nodeId }: { nodeId: string }) {
  const issues = useFlowStore((state) => state.issuesByNode[nodeId]);
  if (!issues || issues.length === 0) return null;
  const errors = issues.filter((issue) => issue.severity === 'error').length;
  const count = errors > 0 ? errors : issues.length;
  const kind = errors > 0 ? 'error' : 'warning';
  return (
    <span
      className={`sl-badge sl-badge--${kind}`}
      role="img"
      aria-label={`${count} validation ${kind}${count === 1 ? '' : 's'}`}
      title={issues.map((issue) => issue.message).join('\n')}
    >
      {count}
    </span>
  );
});

/** One node on the canvas: its type icon, label, one-line summary and validation badge; handles left and right (SPEC §2). */
export const FlowNodeView = memo(function FlowNodeView({ id, data, selected }: NodeProps<CanvasNode>) {
  const summary = useMemo(() => summarizeNode(data.type, data.config), [data.type, data.config]);
  const title = isNodeType(data.type) ? nodeRegistry[data.type].title : data.type;
  const unreachable = useFlowStore((state) => Boolean(state.status[id]?.problem));
  return (
    <div className={`sl-node sl-node--${isNodeType(data.type) ? data.type : 'unknown'}${selected ? ' sl-node--selected' : ''}${unreachable ? ' sl-node--unreachable' : ''}`}>
      <Handle type="target" position={Position.Left} aria-label={`Left side of ${id}`} />
      <div className="sl-node__head">
        <NodeIcon type={isNodeType(data.type) ? data.type : 'unknown'} />
        <span className="sl-node__label" title={data.label ?? id}>
          {fit(data.label ?? id, 18)}
        </span>
        <IssueBadge nodeId={id} />
      </div>
      <div className="sl-node__type">
        {title}
        {data.label ? <span className="sl-node__id"> · {id}</span> : null}
      </div>
      <div className="sl-node__summary" title={summary}>
        {fit(summary, 52)}
      </div>
      {data.type === 'trigger' ? <TriggerLive nodeId={id} /> : null}
      {data.type === 'conflict' ? <ConflictLive nodeId={id} /> : null}
      <Handle type="source" position={Position.Right} aria-label={`Right side of ${id}`} />
    </div>
  );
});
