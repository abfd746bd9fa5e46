import type { TicketFieldRecord, TicketRecord } from './records';

/**
 * Drop-down ("tagger"), multi-select and checkbox ticket fields are kept as tags on the ticket. Each option of a
 * drop-down or multi-select has a tag (its `value`: "The properties correspond to the "Title" and "Tag" text boxes in
 * the admin interface", Ticket Fields API, Update Ticket Field); a checkbox may have one ("Optionally, you can specify
 * a tag to be added to the ticket when the value is true", Create Ticket Field). The two stay in step both ways —
 * support article 4408881943194 "Understanding tags and ticket fields" (Japanese edition read; in translation):
 * selecting a field option adds its tag to the ticket, and adding a tag selects its option; article 6554073287706
 * (Italian edition read) says the same of drop-downs, "the reverse is also true"; article 4408886624410 "Best practices
 * for altering your custom ticket fields": once a ticket's tag stands for no option, "the field is removed from those
 * tickets". So a tag leaving the list clears what it stood for (UNCONFIRMED: that a cleared drop-down or multi-select
 * reads null, a cleared checkbox false).
 */

/** The tags that stand for a field's values; none for fields of other types and for a checkbox without a tag. */
export function tagsOfField(field: TicketFieldRecord): string[] {
  if (field.type === 'checkbox') return field.tag === null ? [] : [field.tag];
  if (field.type === 'tagger' || field.type === 'multiselect') return field.options.map((option) => option.value);
  return [];
}

/** The tags a field's value puts on the ticket. */
export function tagsOfValue(field: TicketFieldRecord, value: unknown): string[] {
  const own = tagsOfField(field);
  if (field.type === 'checkbox') return value === true ? own : [];
  const values = Array.isArray(value) ? value.map(String) : value === null || value === undefined ? [] : [String(value)];
  return values.filter((tag) => own.includes(tag));
}

/** After a field's value was written: its tags on the ticket become those of the new value. */
export function tagsFollowField(ticket: TicketRecord, field: TicketFieldRecord): void {
  const own = tagsOfField(field);
  if (own.length === 0) return;
  const kept = ticket.tags.filter((tag) => !own.includes(tag));
  ticket.tags = [...new Set([...kept, ...tagsOfValue(field, ticket.customFields.get(field.id))])];
}

/**
 * After the ticket's tags were written (Update Ticket's `tags` "overwrites and replaces existing tags", Tickets JSON
 * format): each field whose tags changed takes the value they now say. A drop-down holds one option: adding the tag of
 * another option selects the one added later and removes the first one's tag (article 4408881943194, in translation).
 * Which of two options written at once wins is UNCONFIRMED (the last one here).
 */
export function fieldsFollowTags(ticket: TicketRecord, fields: readonly TicketFieldRecord[], previousTags: readonly string[]): void {
  for (const field of fields) {
    const own = tagsOfField(field);
    const now = ticket.tags.filter((tag) => own.includes(tag));
    const before = previousTags.filter((tag) => own.includes(tag));
    if (own.length === 0 || sameSet(now, before)) continue;
    if (field.type === 'checkbox') {
      ticket.customFields.set(field.id, now.length > 0);
    } else if (field.type === 'multiselect') {
      ticket.customFields.set(field.id, now.length > 0 ? now : null);
    } else {
      const chosen = now.filter((tag) => !before.includes(tag)).at(-1) ?? now.at(-1) ?? null;
      ticket.customFields.set(field.id, chosen);
      ticket.tags = ticket.tags.filter((tag) => !own.includes(tag) || tag === chosen);
    }
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((tag) => b.includes(tag));
}
