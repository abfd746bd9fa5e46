import { describe, expect, it } from 'vitest';
import { partError, passError, triggerError, unreachableTriggers } from './passErrors';

describe('pass errors', () => {
  it('reads back the trigger of an error it worded, in a flow of one part or of several', () => {
    const listing = triggerError('gh', 'cannot list changes: 403 rate limited; resumes at 13:00', new Error('403')).message;
    expect(unreachableTriggers(passError([partError(null, listing)]) as string)).toEqual(new Map([['gh', 'cannot list changes: 403 rate limited; resumes at 13:00']]));

    const error = passError([partError('tickets', listing), partError('people', 'a write failed'), partError('leads', triggerError('crm', 'ECONNREFUSED').message)]) as string;
    expect(error).toBe('part "tickets": trigger "gh": cannot list changes: 403 rate limited; resumes at 13:00; part "people": a write failed; part "leads": trigger "crm": ECONNREFUSED');
    expect(unreachableTriggers(error)).toEqual(
      new Map([
        ['gh', 'cannot list changes: 403 rate limited; resumes at 13:00'],
        ['crm', 'ECONNREFUSED'],
      ]),
    );
  });

  it('keeps the cause, and does not split the message of a flow of one part', () => {
    const cause = new Error('ECONNREFUSED');
    expect(triggerError('crm', 'cannot open', cause).cause).toBe(cause);
    expect(unreachableTriggers('trigger "crm": the system said; part "x": nothing')).toEqual(new Map([['crm', 'the system said; part "x": nothing']]));
    expect(unreachableTriggers('database is locked').size).toBe(0);
    expect(passError([])).toBeNull();
  });
});
