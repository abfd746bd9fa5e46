/**
 * The fields of each collection as a flow sees them (`describe()`, the editor's dropdowns, the write checks), and how
 * Zendesk's values read as text.
 */
import type { CollectionDescription, FieldDescription } from '../types';
import type { TicketFieldCatalog } from './ticketFields';

/** The ticket's own fields, as a flow sees them; custom fields come after, by their configured names. */
export const ticketFieldDescriptions: readonly FieldDescription[] = [
  { name: 'subject', type: 'string', nullable: false },
  { name: 'description', type: 'string', nullable: false },
  { name: 'status', type: 'string', nullable: false },
  { name: 'priority', type: 'string', nullable: true },
  { name: 'type', type: 'string', nullable: true },
  { name: 'tags', type: 'array', nullable: false },
  { name: 'assignee_id', type: 'number', nullable: true },
  { name: 'group_id', type: 'number', nullable: true },
  { name: 'organization_id', type: 'number', nullable: true },
  { name: 'external_id', type: 'string', nullable: true },
  { name: 'due_at', type: 'date', nullable: true },
  { name: 'requester_email', type: 'string', nullable: false },
];

/** Both collections of a Zendesk connection, the tickets' custom fields included. */
export function describeZendesk(catalog: TicketFieldCatalog): CollectionDescription[] {
  return [
    { name: 'tickets', fields: [...ticketFieldDescriptions, ...catalog.describe()] },
    { name: 'users', fields: [...userFieldDescriptions] },
  ];
}

export const userFieldDescriptions: readonly FieldDescription[] = [
  { name: 'name', type: 'string', nullable: false },
  { name: 'email', type: 'string', nullable: true },
  { name: 'phone', type: 'string', nullable: true },
  { name: 'role', type: 'string', nullable: false },
  { name: 'organization_id', type: 'number', nullable: true },
  { name: 'external_id', type: 'string', nullable: true },
  { name: 'notes', type: 'string', nullable: true },
  { name: 'details', type: 'string', nullable: true },
  { name: 'tags', type: 'array', nullable: false },
  { name: 'suspended', type: 'boolean', nullable: false },
];

export function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : String(value);
}

export function preview(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 59)}…` : json;
}
