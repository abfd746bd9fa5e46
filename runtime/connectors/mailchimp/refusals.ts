/**
 * Refusals of a member write that no retry can get past, because they stand for a person's own choice or for
 * Mailchimp's rules about whom it mails: what each means, and what can be done, in words for the flow's owner. Pure: the
 * writer asks, these answer.
 */

/**
 * By the problem document's `title`. Each is Mailchimp protecting someone's consent, so the sync must not work around
 * it (the Marketing API offers no way to, by design).
 */
const personalRefusals: Readonly<Record<string, string>> = {
  // A POST or PUT of an address deleted with "Delete permanently" (actions/delete-permanent), whatever its status:
  // recorded in ibericode/mailchimp-for-wordpress #666, #673, #771 and brandonseydel/MailChimp.Net #416.
  'Forgotten Email Not Subscribed':
    'this address was deleted permanently from the audience in Mailchimp, and Mailchimp lets no one add it back: only the person can, by subscribing again themselves (through a Mailchimp signup form, say)',
  // Status subscribed for someone who unsubscribed through Mailchimp (a campaign's footer link), whose address bounced,
  // or who is under review: recorded in ibericode/mailchimp-for-wordpress #798 and Setono/SyliusMailchimpPlugin #90.
  // One the API unsubscribed can be subscribed again; Mailchimp's answer does not tell the two apart.
  'Member In Compliance State':
    'this person unsubscribed themselves (or their address bounced, or is under compliance review), and Mailchimp lets no one else subscribe them again: only they can, by subscribing again themselves (through a Mailchimp signup form, say)',
};

/** What a refusal Mailchimp answered means for the person, or null when it is not one of those. */
export function personalRefusal(body: unknown): string | null {
  const title = (body as { title?: unknown } | null)?.title;
  return typeof title === 'string' ? (personalRefusals[title] ?? null) : null;
}

/**
 * By member status: why "Archive list member" (DELETE) refuses it, and what to do instead. Mailchimp answers 405 "This
 * list member cannot be removed. Can not archive a contact that is bounced, pending or archived" (recorded in
 * grouparoo's Mailchimp fixtures, export/exportRecord.js; amro/gibbon #320); archived, the member is as a delete wants.
 */
const unarchivable: Readonly<Record<string, string>> = {
  pending:
    'Mailchimp cannot archive a pending member, one asked to confirm a subscription who has not confirmed it yet; it gets no campaigns unless they confirm. To have it gone, unsubscribe it or delete it permanently in Mailchimp',
  cleaned:
    'Mailchimp cannot archive a cleaned member, an address that bounced, which Mailchimp keeps so that it is never mailed again; it gets no campaigns. To have it gone, delete it permanently in Mailchimp',
};

/** Why a member with this status cannot be archived, or null when its status does not explain a refusal. */
export function unarchivableReason(status: unknown): string | null {
  return typeof status === 'string' ? (unarchivable[status] ?? null) : null;
}
