import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MoodleFake } from '../../../test/fakes/moodle/server';
import { guardedFetch } from '../network';
import { ConnectorError } from '../types';
import { encodeParams, inputVars, MoodleAccessError, MoodleCallError, MoodleClient } from './client';
import { access, startFake } from './fakeSite';

describe('the form body', () => {
  it('writes lists and structures in the bracket syntax PHP reads, booleans as 1 and 0', () => {
    const body = encodeParams({ wsfunction: 'core_user_update_users', users: [{ id: 7, suspended: true, customfields: [{ type: 'costcentre', value: 'A&B = C' }] }] });
    expect(body).toBe('wsfunction=core_user_update_users&users[0][id]=7&users[0][suspended]=1&users[0][customfields][0][type]=costcentre&users[0][customfields][0][value]=A%26B%20%3D%20C');
    expect(inputVars({ users: [{ id: 7, suspended: true, customfields: [{ type: 'a', value: 'b' }] }] })).toBe(4);
  });
});

describe('answers and failures', () => {
  let fake: MoodleFake;
  const waits: number[] = [];
  const client = (token = fake.token, baseUrl = fake.url) =>
    new MoodleClient(baseUrl, token, 'moodle-token', { fetch: guardedFetch(access.hosts), sleep: async (ms) => void waits.push(ms), timeoutMs: 5_000 }, new AbortController().signal);

  beforeEach(async () => {
    fake = await startFake();
    waits.length = 0;
  });
  afterEach(() => fake.close());

  it('returns the decoded answer, and null for functions that return nothing', async () => {
    const course = fake.seedCourse({ shortname: 'C', fullname: 'Course' });
    expect(await client().call('core_webservice_get_site_info', {}, 'repeatable')).toMatchObject({ userid: 2 });
    expect(await client().call('enrol_manual_enrol_users', { enrolments: [{ roleid: 5, userid: 2, courseid: course.id }] }, 'repeatable')).toBeNull();
  });

  it('tells a refused input (isolate the record) from a refused token (stop)', async () => {
    const refused = client().call('core_user_get_users_by_field', { field: 'id', values: ['x1'] }, 'repeatable');
    await expect(refused).rejects.toBeInstanceOf(MoodleCallError);
    await expect(refused).rejects.toMatchObject({ errorcode: 'invalidparameter', retryable: false, message: 'core_user_get_users_by_field: Moodle refused it — invalid_parameter_exception (invalidparameter): Invalid parameter value detected' });
    const token = client('wrong').call('core_webservice_get_site_info', {}, 'repeatable');
    await expect(token).rejects.toBeInstanceOf(MoodleAccessError);
    await expect(token).rejects.toThrow('Moodle does not accept the token in credential "moodle-token" (moodle_exception (invalidtoken): Invalid token - token not found)');
    fake.addToken('narrow', { userid: 2, functions: ['core_webservice_get_site_info'] });
    await expect(client('narrow').call('core_user_create_users', { users: [] }, 'once')).rejects.toThrow("the token's external service does not include core_user_create_users");
  });

  it('shows debuginfo when the site gives it', async () => {
    fake.site.config.debug = 'normal';
    await expect(client().call('core_user_get_users_by_field', { field: 'id', values: ['x1'] }, 'repeatable')).rejects.toThrow("Invalid parameter value detected: The field 'id' value is invalid: x1(cleaned value: 0)");
  });

  it('retries a read after a 5xx or a dropped connection, and not a create', async () => {
    fake.failNextRequests(1, { status: 503 });
    fake.failNextRequests(1, 'drop');
    expect(await client().call('core_webservice_get_site_info', {}, 'repeatable')).toMatchObject({ userid: 2 });
    expect(waits).toEqual([500, 1000]);
    fake.failNextRequests(1, { status: 502 });
    await expect(client().call('core_user_create_users', { users: [] }, 'once')).rejects.toMatchObject({ retryable: false, message: expect.stringContaining('answered 502 — "502"; it may or may not have been applied') });
  });

  it('says where no Moodle web service answers', async () => {
    await expect(client(fake.token, `${fake.url}/moodle`).call('core_webservice_get_site_info', {}, 'repeatable')).rejects.toThrow('answered 404: no Moodle web service there; check connection.baseUrl');
    const html = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html><body>Log in to the site</body></html>');
    });
    await new Promise<void>((resolve) => html.listen(0, '127.0.0.1', resolve));
    try {
      const failure = client(fake.token, `http://127.0.0.1:${(html.address() as AddressInfo).port}`).call('core_webservice_get_site_info', {}, 'repeatable');
      await expect(failure).rejects.toBeInstanceOf(ConnectorError);
      await expect(failure).rejects.toThrow('expected JSON from');
    } finally {
      html.closeAllConnections();
      await new Promise((resolve) => html.close(resolve));
    }
  });
});
