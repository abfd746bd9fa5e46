import { Handle, Position, type NodeProps } from '@xyflow/react';
import { memo, useMemo } from 'react';
import { isNodeType, nodeRegistry } from '../../nodes';
import type { CanvasNode } from '../document/canvasDocument';
import { useFlowStore } from '../store/context';
import { NodeIcon } from './nodeIcons';
import { summarizeNode } from './summarizeNode';

function formatTime(iso: string | null): string {
  if (!iso) return 'never';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
}

/** Last pass, records synced and failing count of a deployed trigger, from the runtime's status poll. */
const TriggerStatusLine = memo(function TriggerStatusLine({ nodeId }: { nodeId: string }) {
  const status = useFlowStore((state) => state.status[nodeId]);
  if (!status) return null;
  return (
    <div className={`sl-node__status${status.failing > 0 ? ' sl-node__status--failing' : ''}`} data-testid="trigger-status">
      last pass {formatTime(status.lastPassAt)} · {status.synced} synced
      {status.failing > 0 ? ` · ${status.failing} failing` : ''}
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
  return (
    <div className={`sl-node sl-node--${isNodeType(data.type) ? data.type : 'unknown'}${selected ? ' sl-node--selected' : ''}`}>
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
      {data.type === 'trigger' ? <TriggerStatusLine nodeId={id} /> : null}
      <Handle type="source" position={Position.Right} aria-label={`Right side of ${id}`} />
    </div>
  );
});
