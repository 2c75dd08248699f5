// A query that cannot be answered says what to send instead: the parameters
// the route takes, the values allowed, a time in the form expected.
import t from 'tap'
import { buildTestApp, callApi, expectError, issueKey } from '../helper.ts'

const LIST_PARAMETERS = 'from, to, status, level, environment, workflow_id, run_id, q, limit, order, cursor'

void t.test('the query routes answer a mistake with what to send instead', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme', { scopes: ['logs:read', 'keys:manage'] })
  const error = async (url: string): Promise<{ message: string, details: Array<{ field: string, message: string }> }> => {
    const body = expectError(t, await callApi(app, apiKey, 'GET', url), 400, 'invalid_request')
    return body as unknown as { message: string, details: Array<{ field: string, message: string }> }
  }

  t.match(await error('/api/v1/logs?stauts=FAILURE'), {
    message: `Invalid querystring: unknown parameter "stauts"; the querystring takes ${LIST_PARAMETERS}`,
    details: [{ field: 'querystring.stauts' }]
  }, 'a typo names the parameters the route takes')
  t.match(await error('/api/v1/logs?level=critical'), {
    message: 'Invalid querystring: parameter "level" must be one of "trace", "debug", "info", "warn", "error", "fatal"',
    details: [{ field: 'querystring.level' }]
  }, 'an enum lists its values')
  t.match((await error('/api/v1/logs?order=newest')).message, /parameter "order" must be one of "desc", "asc"$/)
  t.match(await error('/api/v1/logs?from=yesterday'), {
    message: 'Invalid querystring: parameter "from" must be a date and time with a time zone, such as 2026-11-01T00:00:00Z'
  }, 'a malformed time gives an example')
  t.match((await error('/api/v1/logs?to=2026-12-31T23:59:60Z')).message, /to must be a real point in time \(not a leap second\), such as 2026-11-01T00:00:00Z/)
  t.match((await error('/api/v1/logs?limit=lots')).message, /parameter "limit" must be integer/)

  // A route that takes no parameter says so; the other routes name theirs.
  const someId = '00000000-0000-7000-8000-000000000000'
  t.match(await error(`/api/v1/logs/${someId}?pretty=1`), {
    message: 'Invalid querystring: unknown parameter "pretty": this route takes none'
  })
  t.match((await error('/api/v1/keys?colour=red')).message, /unknown parameter "colour"; the querystring takes .*\blimit\b/)
})

void t.test('a body field that is not taken names the fields that are', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme', { scopes: ['keys:manage'] })
  const body = expectError(t, await callApi(app, apiKey, 'POST', '/api/v1/keys', { name: 'ci', owner: 'someone' }), 400, 'invalid_request')
  t.match(body.message, /^Invalid body: unknown field "owner"; the body takes name, scopes/)
  t.match(body, { details: [{ field: 'body.owner' }] })
})
