import type { NodeTypes } from '@xyflow/react';
import { nodeTypes as registeredTypes } from '../../nodes';
import { FlowNodeView } from './FlowNodeView';

/**
 * React Flow node types, built once at module scope (a new object per render would remount every node). Every
 * registered type and the catch-all for unknown ones share one component; the type still shows as the CSS class
 * `react-flow__node-<type>`.
 */
export const canvasNodeTypes: NodeTypes = Object.fromEntries([...registeredTypes, 'unknown'].map((type) => [type, FlowNodeView]));
