import type { FieldChange } from '../../runtime/api/schemas';

/** A field value as a person reads it: text plainly, absence as a dash, everything else as JSON. */
export function ShowValue({ value }: { value: unknown }) {
  if (value === undefined || value === null) return <span className="sl-muted">—</span>;
  if (typeof value === 'string') return <span>{value}</span>;
  return <code>{JSON.stringify(value)}</code>;
}

/** A field-by-field before/after table. */
export function FieldChanges({ fields, caption }: { fields: FieldChange[]; caption: string }) {
  if (fields.length === 0) return <p className="sl-muted">No field changes.</p>;
  return (
    <table className="sl-table sl-table--compact" aria-label={caption}>
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Before</th>
          <th scope="col">After</th>
        </tr>
      </thead>
      <tbody>
        {fields.map((change) => (
          <tr key={change.field}>
            <th scope="row">{change.field}</th>
            <td>
              <ShowValue value={change.before} />
            </td>
            <td>
              <ShowValue value={change.after} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
