import type { ComponentType } from 'react';
import ConflictForm from '../../nodes/conflict/Form';
import FilterForm from '../../nodes/filter/Form';
import MappingForm from '../../nodes/mapping/Form';
import TransformForm from '../../nodes/transform/Form';
import TriggerForm from '../../nodes/trigger/Form';
import type { NodeType } from '../../nodes';
import { withConnectorEnvironment } from './connectorForms';
import type { NodeFormProps } from './types';

/** The form of each node type; `satisfies` makes a new node type without a form a type error. */
export const nodeForms = {
  trigger: withConnectorEnvironment(TriggerForm),
  transform: TransformForm,
  mapping: MappingForm,
  conflict: ConflictForm,
  filter: FilterForm,
} satisfies Record<NodeType, ComponentType<NodeFormProps>>;
