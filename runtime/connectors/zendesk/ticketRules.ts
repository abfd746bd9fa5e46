/**
 * Two of Zendesk's native system ticket rules, which "can't be reconfigured" (support article 4408894213018 "About
 * native system ticket rules"): "After a ticket's status has been changed from New, it can never be set back to New",
 * and "When you set a priority, you can't reset it back to no priority. You can always change it to a different
 * priority." Another system of a flow can ask for exactly that (its record says new, or has no priority). Zendesk does
 * not refuse such an update in a way the sync could tell apart (the fake answers 200 and keeps the old value,
 * UNCONFIRMED: test/fakes/zendesk/records.ts), so the value would never arrive and every pass would try again. The
 * connector refuses such an update itself, for that ticket, before sending it, saying which rule and what to do.
 */

/** Whether an update asks for something these rules may forbid: only then is the ticket read to know. */
export function mayBreakTicketRule(input: Record<string, unknown>): boolean {
  return input.status === 'new' || clearsPriority(input);
}

/** Why Zendesk would not take this update of `ticket` as it is, or null when it would. */
export function ticketRuleRefusal(id: number, input: Record<string, unknown>, ticket: Record<string, unknown>): string | null {
  const reasons: string[] = [];
  if (input.status === 'new' && ticket.status !== 'new') {
    reasons.push(
      `status: ticket ${id} is ${String(ticket.status)}, and Zendesk never sets a ticket back to new once it has left new ("About native system ticket rules" in Zendesk's help); map the other system's value for new onto open (a value pair on status in the mapping), or let status flow only out of Zendesk (a mapping direction away from this trigger)`,
    );
  }
  if (clearsPriority(input) && ticket.priority !== null && ticket.priority !== undefined) {
    reasons.push(
      `priority: ticket ${id} has priority ${String(ticket.priority)}, and Zendesk never takes a priority away once set, it only changes it to another ("About native system ticket rules" in Zendesk's help); map the other system's empty priority onto low, normal, high or urgent, or let priority flow only out of Zendesk (a mapping direction away from this trigger)`,
    );
  }
  return reasons.length === 0 ? null : reasons.join('; ');
}

/** A priority of none: null, or blank text. */
function clearsPriority(input: Record<string, unknown>): boolean {
  return 'priority' in input && (input.priority === null || (typeof input.priority === 'string' && input.priority.trim() === ''));
}
