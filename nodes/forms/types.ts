import type { ComponentType } from 'react';
import type { FlowIssue } from '../flow/issues';
import type { ConnectionOptions, ConnectorSummary } from '../trigger/connectionForm';

// What a node's editor form is given. The editor fills these in from its store and the runtime; a node folder needs
// nothing of the editor to build its form.

/** Field names known on one side of a node, and whether they came from the connector or from neighbouring nodes. */
export interface SideFields {
  names: string[];
  described: boolean;
}

/** A real record to try a node on, as it reaches the node's left side; or why there is none. */
export type RealSample = { ok: true; record: Record<string, unknown>; triggerId: string; recordId: string } | { ok: false; message: string };

/** A collection as its connector describes it, as far as a form reads it: its name and the names of its fields. */
export interface DescribedCollection {
  name: string;
  fields: ReadonlyArray<{ name: string }>;
}

/** What a node form may know about the rest of the flow and the runtime. */
export interface FormEnvironment {
  /** Connector types to choose from, with their connection forms: the runtime's list, or the built-in one when it is not reachable. */
  connectors: ConnectorSummary[];
  /** Asks the runtime for a connection form's lookup choices (GitHub repositories); absent where nothing can be asked. */
  connectionOptions?: (connector: string, connection: Record<string, unknown>, field: string) => Promise<ConnectionOptions>;
  /** Stored credentials' names, or null when the runtime cannot be asked. */
  credentials: { name: string; type: string }[] | null;
  /** The trigger's collections as the connector describes them; null while unknown. */
  collections: readonly DescribedCollection[] | null;
  describeError: string | null;
  /** Trigger nodes of the flow, for policies that prefer one side. */
  triggers: { id: string; label: string }[];
  /** Fields on the node's left and right sides (SPEC §2). */
  fields: { left: SideFields; right: SideFields };
  /** Reads a real record of the trigger whose records reach this node; absent where the runtime cannot be asked. */
  realSample?: () => Promise<RealSample>;
}

/** Props of every node form (nodes/<type>/Form.tsx). */
export interface NodeFormProps {
  nodeId: string;
  /** The node's config as it stands, which may not validate yet. */
  config: unknown;
  onChange(config: unknown): void;
  /** This node's issues from the flow validator (paths are document paths). */
  issues: FlowIssue[];
  env: FormEnvironment;
}

/** How the editor shows a node type: each node folder's `ui.ts`, listed in nodes/ui.ts. */
export interface NodeUi {
  Form: ComponentType<NodeFormProps>;
  /**
   * The type's glyph: SVG shapes in a 24×24 box, stroked in the text colour, so the type reads at a glance even
   * zoomed out.
   */
  glyph: string;
  /**
   * The form lists the collections its own connection describes (`env.collections`): while it is open the editor
   * asks the runtime to describe the node.
   */
  showsCollections?: boolean;
  /**
   * The form offers the field names on the node's sides (`env.fields`): the editor discovers them from what the
   * flow's triggers describe (asking the runtime for each) and what the nodes around it name.
   */
  showsSideFields?: boolean;
}
