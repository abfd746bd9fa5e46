/**
 * The fields of each collection as a flow sees them (`describe()`, the editor's dropdowns, the write checks), and how
 * Moodle's user and enrolment answers read as flow records.
 *
 * Moodle leaves a text field out of a user's details when it is empty (`user_get_user_details()`: idnumber,
 * institution, phones, city, country; custom profile fields without data), and stores "none" as an empty string. So
 * an empty or absent optional text reads as null and null is written as "": one value for "nothing" on both ways.
 */
import type { FlowRecord } from '../../../nodes/types';
import { ConnectorError, type CollectionDescription, type FieldDescription } from '../types';

/** User text fields, in the web-service parameter names. `required`: Moodle refuses the user without one. */
export const userTextFields = {
  username: { required: true },
  email: { required: true },
  firstname: { required: true },
  lastname: { required: true },
  auth: { required: true },
  idnumber: { required: false },
  department: { required: false },
  institution: { required: false },
  phone1: { required: false },
  phone2: { required: false },
  city: { required: false },
  country: { required: false },
} as const;
export type UserTextField = keyof typeof userTextFields;

export const userTextFieldNames = Object.keys(userTextFields) as UserTextField[];

/** The user's id is the record key; Moodle keeps it, a flow cannot write it. */
export const userBookkeeping: Record<string, string> = { id: "the user's id, Moodle's key" };

export function userFieldDescriptions(profileFields: readonly string[]): FieldDescription[] {
  return [
    ...userTextFieldNames.map((name) => ({ name, type: 'string', nullable: !userTextFields[name].required })),
    { name: 'suspended', type: 'boolean', nullable: false },
    ...profileFields.map((shortname) => ({ name: `customfields.${shortname}`, type: 'string', nullable: true })),
  ];
}

/** An enrolment's fields: who and where (its identity), the user's name and email as read, roles, and its status. */
export const enrolmentFieldDescriptions: readonly FieldDescription[] = [
  { name: 'userid', type: 'number', nullable: false },
  { name: 'courseid', type: 'number', nullable: false },
  { name: 'username', type: 'string', nullable: false },
  { name: 'email', type: 'string', nullable: false },
  { name: 'roles', type: 'array', nullable: false },
  { name: 'suspended', type: 'boolean', nullable: false },
];

/** Both collections of a Moodle connection. */
export function describeMoodle(profileFields: readonly string[]): CollectionDescription[] {
  return [
    { name: 'users', fields: userFieldDescriptions(profileFields) },
    { name: 'enrolments', fields: [...enrolmentFieldDescriptions] },
  ];
}

/**
 * Moodle leaves out of a user what the token's user may not see (user_get_user_details(): names only `if ($isadmin or
 * $canviewfullnames)`, the username only to the user or with moodle/user:viewalldetails, the email only as an identity
 * field). Read as empty, a hidden field would be cleared on the other side. A field every Moodle user has (`required`)
 * that is missing can only be hidden, so the read stops and says which capability to grant.
 */
export function assertVisible(user: Record<string, unknown>, names: readonly UserTextField[]): void {
  const hidden = names.filter((name) => userTextFields[name].required && !(name in user));
  if (hidden.length === 0) return;
  throw new ConnectorError(
    `Moodle hides ${hidden.join(', ')} of user ${String(user.id)} from the token's user, so they cannot be synced (read as empty, they would be cleared on the other side): give that user moodle/site:viewfullnames (names), moodle/user:viewalldetails (username, auth) and moodle/site:viewuseridentity with email among the identity fields (Site administration › Users › Permissions › User policies › showuseridentity), or use a site administrator's token`,
  );
}

/** A user as `core_user_get_users_by_field` answers it, as a flow record. */
export function userRecordFields(user: Record<string, unknown>, profileFields: readonly string[]): FlowRecord {
  assertVisible(user, userTextFieldNames);
  const fields: FlowRecord = {};
  for (const name of userTextFieldNames) fields[name] = text(user[name]);
  fields.suspended = user.suspended === true;
  if (profileFields.length > 0) {
    // `type` in the answer is the field's datatype; its name is `shortname` (on writes, `type` carries the shortname).
    const data = new Map<string, unknown>();
    if (Array.isArray(user.customfields)) for (const entry of user.customfields as Array<Record<string, unknown>>) data.set(String(entry.shortname), entry.value);
    fields.customfields = Object.fromEntries(profileFields.map((shortname) => [shortname, text(data.get(shortname))]));
  }
  return fields;
}

/** Moodle text as a flow value: empty and absent read as null. */
export function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const string = typeof value === 'string' ? value : String(value);
  return string === '' ? null : string;
}

export function preview(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 59)}…` : json;
}

/** A Moodle id as the record key or a field holds it: a positive whole number. Anything else names nothing. */
export function moodleId(value: unknown): number | null {
  const textValue = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  if (!/^[1-9]\d{0,15}$/.test(textValue)) return null;
  const number = Number(textValue);
  return Number.isSafeInteger(number) ? number : null;
}
