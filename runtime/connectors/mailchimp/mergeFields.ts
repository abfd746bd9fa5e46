/**
 * The audience's merge fields ("List merges": `GET /lists/{list_id}/merge-fields`, paged by count and offset): their
 * tags name the nested fields `merge_fields.<TAG>` a flow reads and writes, and their types decide what a value may be.
 */
import type { FieldDescription } from '../types';
import { ConnectorError } from '../types';
import type { MailchimpClient } from './client';

export interface MergeField {
  tag: string;
  name: string;
  /** text, number, address, phone, date, url, imageurl, radio, dropdown, birthday, zip ("Merge Field" › type). */
  type: string;
  required: boolean;
  /** A date or birthday field's `options.date_format`: "MM/DD/YYYY" or "DD/MM/YYYY"; "MM/DD" (the default) or "DD/MM". */
  dateFormat?: string;
}

/** "Maximum value is 1000" for `count`. */
const pageSize = 1000;

export class MergeFieldCatalog {
  readonly byTag: ReadonlyMap<string, MergeField>;

  constructor(fields: readonly MergeField[]) {
    this.byTag = new Map(fields.map((field) => [field.tag, field]));
  }

  static async load(client: MailchimpClient, listId: string): Promise<MergeFieldCatalog> {
    const fields: MergeField[] = [];
    for (let offset = 0; ; offset += pageSize) {
      const response = await client.request('GET', `/lists/${encodeURIComponent(listId)}/merge-fields`, { query: { count: pageSize, offset } });
      if (response.status === 404) throw missingAudience(listId, response.shown);
      if (response.status !== 200) throw client.failure(response);
      const body = (response.body ?? {}) as { merge_fields?: unknown; total_items?: unknown };
      const page = Array.isArray(body.merge_fields) ? (body.merge_fields as Array<Record<string, unknown>>) : [];
      for (const field of page) {
        if (typeof field.tag !== 'string' || field.tag === '') continue;
        const dateFormat = (field.options as { date_format?: unknown } | undefined)?.date_format;
        fields.push({
          tag: field.tag,
          name: typeof field.name === 'string' ? field.name : field.tag,
          type: typeof field.type === 'string' ? field.type : 'text',
          required: field.required === true,
          ...(typeof dateFormat === 'string' ? { dateFormat } : {}),
        });
      }
      const total = typeof body.total_items === 'number' ? body.total_items : fields.length;
      if (page.length === 0 || offset + page.length >= total) break;
    }
    return new MergeFieldCatalog(fields);
  }

  /** The merge fields as the flow's field paths: `merge_fields.FNAME` (text), a number field as number. */
  describe(): FieldDescription[] {
    return [...this.byTag.values()].map((field) => ({ name: `merge_fields.${field.tag}`, type: field.type === 'number' ? 'number' : field.type === 'address' ? 'object' : 'string', nullable: !field.required }));
  }

  known(): string {
    return [...this.byTag.keys()].join(', ') || '(none)';
  }
}

/** An audience id that names nothing in the account. */
export function missingAudience(listId: string, shown: string): ConnectorError {
  return new ConnectorError(`connection.list: ${shown}: 404, this Mailchimp account has no audience "${listId}" (Audience › Settings › Audience name and defaults shows the Audience ID)`);
}
