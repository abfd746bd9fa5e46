/**
 * The `moodle` connector: the users and course enrolments of one Moodle site, through its REST web service with a
 * token (docs/connectors/moodle.md). `collection` is `users` or `enrolments`; record keys are Moodle's ids (a user's
 * id; `<courseid>:<userid>` for an enrolment, or the user's id with `"enrolment": "one-per-user"`), so a trigger's
 * `key` and `updatedAt` are not read. Moodle has no "changed since" filter for either: both collections declare
 * `changeFeed: false` and are listed whole on each pass.
 */
import { throwIfConnectionProblems } from '../connection';
import { guardedFetch } from '../network';
import { ConnectorError, type CollectionDescription, type ConnectionContext, type ConnectionOptions, type Connector, type ConnectorContext, type ConnectorType } from '../types';
import { MoodleClient, sleep, type MoodleClientOptions } from './client';
import { checkMoodleConnection, parseMoodleConnection, type MoodleConnection } from './config';
import { enrolmentReadFunctions } from './enrolmentReads';
import { MoodleEnrolments } from './enrolments';
import { moodleConnectionForm } from './form';
import { describeMoodle } from './shape';
import { loadSiteInfo, requireFunctions } from './site';
import { MoodleUserEnrolments } from './userEnrolments';
import { MoodleUsers, userReadFunctions } from './users';

export { checkMoodleConnection, type MoodleConnection } from './config';

export const moodleCollections = ['users', 'enrolments'] as const;

/** What tests may set instead of the defaults: the transport, the waiting between retries, the timeout. */
export type MoodleOptions = Partial<MoodleClientOptions>;

const defaults = { sleep, timeoutMs: 60_000 };

/** Opens a `moodle` trigger's collection; `options` are for tests. */
export async function openMoodle(context: ConnectorContext, options: MoodleOptions = {}): Promise<Connector> {
  const { config } = context;
  throwIfConnectionProblems(checkMoodleConnection(config.connection));
  const connection = parseMoodleConnection(config.connection);
  if (!(moodleCollections as readonly string[]).includes(config.collection)) {
    throw new ConnectorError(`collection: a Moodle connection has the collections ${moodleCollections.join(' and ')}, not "${config.collection}"`);
  }
  if (config.collection === 'enrolments' && connection.courses.length === 0) {
    throw new ConnectorError('connection.courses: the enrolments collection needs the courses it covers, e.g. [12, 15]');
  }
  const closing = new AbortController();
  const client = await openClient(connection, context, options, closing.signal);
  const site = await loadSiteInfo(client);
  const onClose = () => closing.abort(new ConnectorError('the moodle connector was closed', { retryable: true }));
  if (config.collection === 'users') {
    requireFunctions(site, 'users', userReadFunctions);
    return new MoodleUsers(client, connection, site, onClose);
  }
  requireFunctions(site, 'enrolments', enrolmentReadFunctions);
  if (connection.enrolment === 'one-per-user') return new MoodleUserEnrolments(client, connection, site, onClose);
  return new MoodleEnrolments(client, connection, site, onClose);
}

/** Both collections and their fields, the configured custom profile fields included; nothing is asked of the site. */
async function describeMoodleConnection(context: ConnectionContext): Promise<CollectionDescription[]> {
  throwIfConnectionProblems(checkMoodleConnection(context.connection));
  return describeMoodle(parseMoodleConnection(context.connection).profileFields);
}

/** The courses a person may choose for `courses`: every course the token can see, the front page left out. */
async function moodleConnectionOptions(context: ConnectionContext, field: string): Promise<ConnectionOptions> {
  if (field !== 'courses') throw new ConnectorError(`${field}: the moodle connection lists choices for courses only`);
  // Only what listing needs must be right: the courses themselves are what is being chosen.
  throwIfConnectionProblems(checkMoodleConnection(context.connection).filter((problem) => problem.path[0] === 'baseUrl' || problem.path[0] === 'auth'));
  const connection = parseMoodleConnection({ ...context.connection, courses: undefined });
  const client = await openClient(connection, context, {}, new AbortController().signal);
  const answer = await client.call('core_course_get_courses', {}, 'repeatable');
  if (!Array.isArray(answer)) throw new ConnectorError('core_course_get_courses: expected a list of courses');
  const options = (answer as Array<{ id?: unknown; fullname?: unknown; shortname?: unknown; format?: unknown }>)
    .filter((course) => typeof course.id === 'number' && course.format !== 'site')
    .map((course) => ({ value: String(course.id), label: String(course.fullname ?? course.shortname ?? course.id), description: `${String(course.shortname ?? '')}, id ${String(course.id)}` }));
  return { options, complete: true };
}

async function openClient(
  connection: MoodleConnection,
  context: Pick<ConnectorContext, 'resolveCredential' | 'access'>,
  options: MoodleOptions,
  closed: AbortSignal,
): Promise<MoodleClient> {
  let token: string;
  try {
    token = (await context.resolveCredential(connection.credential)).trim();
  } catch (error) {
    throw new ConnectorError(`connection.auth.credential: cannot read credential "${connection.credential}": ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const clientOptions: MoodleClientOptions = { ...defaults, fetch: guardedFetch(context.access.hosts) };
  for (const [name, value] of Object.entries(options)) if (value !== undefined) Object.assign(clientOptions, { [name]: value });
  return new MoodleClient(connection.baseUrl, token, connection.credential, clientOptions, closed);
}

/** Moodle: users (suspended rather than deleted, by default) and course enrolments, without a change feed. */
export const moodleConnector = {
  type: 'moodle',
  title: 'Moodle',
  checkConnection: checkMoodleConnection,
  open: (context: ConnectorContext) => openMoodle(context),
  describeConnection: describeMoodleConnection,
  connectionForm: moodleConnectionForm,
  connectionOptions: moodleConnectionOptions,
} satisfies ConnectorType;
