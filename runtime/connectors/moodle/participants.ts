/**
 * The participants of one course in id order, read with `core_enrol_get_enrolled_users` as if it could list "users
 * after id X" — which it cannot: it pages by offset (`limitfrom`, `limitnumber`, `sortby` id). Offsets are not stable:
 * a user deleted (or unenrolled) between two requests moves every later row one place back, and a plain offset walk
 * would skip one, which a snapshot listing would take for a delete. So each request starts a few rows before where the
 * last one ended and drops the ids already passed; when even that overlap shows the rows moved further, the place is
 * found again by bisecting offsets. New users get higher ids and only ever add rows at the end.
 *
 * On the site course (id 1, the front page) every user who is not deleted is a participant (lib/enrollib.php,
 * `get_enrolled_join()`: "all users are 'enrolled' on the frontpage"): that is how the users collection lists a site.
 */
import { MoodleCallError, type MoodleClient } from './client';
import { ConnectorError } from '../types';

/** One row of `core_enrol_get_enrolled_users`: always an id, then whichever `userfields` were asked for. */
export interface Participant {
  id: number;
  [field: string]: unknown;
}

/** Rows re-read before the expected position: this many deletions between two requests are absorbed without a search. */
const overlap = 20;

export class CourseParticipants {
  /** For each id listed, the offset of the row after it when it was read: where the next request should start. */
  private readonly offsets = new Map<number, number>();

  constructor(
    private readonly client: MoodleClient,
    readonly courseid: number,
    /** `userfields` (comma-separated, from user_get_default_fields()) and whether to list suspended enrolments only. */
    private readonly options: { userfields: string; onlysuspended?: boolean },
  ) {}

  /** Up to `count` participants with ids above `afterId` (all, when null), ascending; `end` when none are left after them. */
  async after(afterId: number | null, count: number): Promise<{ participants: Participant[]; end: boolean }> {
    const participants: Participant[] = [];
    let last = afterId;
    // Where the first unseen row is expected, and where reading starts: up to `overlap` rows earlier, which should all
    // be at or below `last` — if the first of them is not, rows before our place were removed and it must be found.
    let expected = 0;
    if (last !== null) expected = this.offsets.get(last) ?? (await this.locate(last));
    let start = Math.max(0, expected - overlap);
    for (;;) {
      const lookback = expected - start;
      const wanted = count - participants.length + lookback;
      const rows = await this.rows(start, wanted);
      if (lookback > 0 && last !== null && (rows.length === 0 || (rows[0] as Participant).id > last)) {
        expected = await this.locate(last);
        start = expected;
        continue;
      }
      for (const [index, row] of rows.entries()) {
        if (last !== null && row.id <= last) continue;
        participants.push(row);
        last = row.id;
        this.offsets.set(row.id, start + index + 1);
        if (participants.length === count) return { participants, end: rows.length < wanted && index === rows.length - 1 };
      }
      if (rows.length < wanted) return { participants, end: true };
      expected = start + rows.length;
      start = Math.max(0, expected - overlap);
    }
  }

  /** Every participant, in pages of `pageSize`. */
  async *all(pageSize: number): AsyncIterable<Participant[]> {
    let after: number | null = null;
    for (;;) {
      const { participants, end } = await this.after(after, pageSize);
      if (participants.length > 0) yield participants;
      if (end || participants.length === 0) return;
      after = (participants.at(-1) as Participant).id;
    }
  }

  /** The offset of the first row with an id above `afterId`: doubling, then bisecting, one row per request. */
  private async locate(afterId: number): Promise<number> {
    const idAt = async (offset: number): Promise<number | null> => (await this.rows(offset, 1, 'id'))[0]?.id ?? null;
    let low = 0;
    let high = 1;
    for (;;) {
      const id = await idAt(high - 1);
      if (id === null || id > afterId) break;
      low = high;
      high *= 2;
    }
    // The answer lies in [low, high - 1]: rows before `low` are at or below afterId, the row at `high - 1` is past it
    // (or past the end).
    while (low < high - 1) {
      const middle = Math.floor((low + high - 1) / 2);
      const id = await idAt(middle);
      if (id !== null && id <= afterId) low = middle + 1;
      else high = middle + 1;
    }
    return low;
  }

  private async rows(offset: number, count: number, userfields = this.options.userfields): Promise<Participant[]> {
    const options = [
      { name: 'sortby', value: 'id' },
      { name: 'sortdirection', value: 'ASC' },
      { name: 'limitfrom', value: String(offset) },
      { name: 'limitnumber', value: String(count) },
      { name: 'userfields', value: userfields },
      ...(this.options.onlysuspended ? [{ name: 'onlysuspended', value: '1' }] : []),
    ];
    let answer: unknown;
    try {
      answer = await this.client.call('core_enrol_get_enrolled_users', { courseid: this.courseid, options }, 'repeatable');
    } catch (caught) {
      // The course is read with MUST_EXIST: a deleted course is dml_missing_record_exception. Its enrolments are not
      // gone for that, and a listing that went on without them would have them all taken for deleted.
      if (caught instanceof MoodleCallError && caught.errorcode === 'invalidrecord') {
        throw new ConnectorError(`course ${this.courseid} does not exist on the site (any more): remove it from connection.courses — ${caught.message}`);
      }
      throw caught;
    }
    if (!Array.isArray(answer) || answer.some((row) => typeof (row as { id?: unknown } | null)?.id !== 'number')) {
      throw new ConnectorError(`core_enrol_get_enrolled_users for course ${this.courseid}: expected a list of users with ids`);
    }
    return answer as Participant[];
  }
}
