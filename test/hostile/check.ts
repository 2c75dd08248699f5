// One hostile request and what its answer must be: a 4xx in the common error
// shape {statusCode, error, code, message, details?}, never a 5xx.
import { STATUS_CODES } from 'node:http'
import type { Readable } from 'node:stream'
import type { FastifyInstance, HTTPMethods, LightMyRequestResponse } from 'fastify'

export interface HostileCase {
  /** Short; names the case in the test output. */
  name: string
  method: HTTPMethods
  url: string
  headers?: Record<string, string | string[]>
  /** A stream is sent without Content-Length, as a chunked body is. */
  payload?: string | Buffer | Readable
  remoteAddress?: string
  /** The statuses this case may get, when narrower than any 4xx. */
  statuses?: readonly number[]
  /** The code the answer must carry, when only one is right. */
  code?: string
  /** A route that takes no input (/health): an answer of 200 is right too. */
  mayPass?: boolean
}

/** What a case's answer is held to. */
export type Expectation = Pick<HostileCase, 'statuses' | 'mayPass'>

export interface Answer {
  statusCode: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
}

const ERROR_FIELDS = ['code', 'error', 'message', 'statusCode']

/**
 * What is wrong with a JSON error body, if anything. The Elasticsearch routes
 * (an answer with x-elastic-product) add `status`, the same number, which
 * their clients read the status from.
 */
function bodyProblems (statusCode: number, text: string, elastic: boolean): string[] {
  let body: Record<string, unknown>
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {
    return [`body is not JSON: ${JSON.stringify(text.slice(0, 80))}`]
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return ['body is not a JSON object']
  const problems: string[] = []
  const fields = Object.keys(body).filter((field) => field !== 'details' && !(elastic && field === 'status')).sort()
  if (fields.join() !== ERROR_FIELDS.join()) problems.push(`fields are ${fields.join()}`)
  if (elastic && body.status !== statusCode) problems.push(`body.status ${String(body.status)} is not the status`)
  if (body.statusCode !== statusCode) problems.push(`body.statusCode ${String(body.statusCode)} is not the status`)
  if (body.error !== STATUS_CODES[statusCode]) problems.push(`error ${JSON.stringify(body.error)} is not the reason phrase`)
  if (typeof body.code !== 'string' || body.code === '') problems.push('code is not a non-empty string')
  if (typeof body.message !== 'string' || body.message === '') problems.push('message is not a non-empty string')
  return problems
}

/** What is wrong with the answer to a case, if anything (an empty list: nothing). */
export function answerProblems (hostile: Expectation, answer: Answer, secrets: readonly string[]): string[] {
  const { statusCode } = answer
  const problems: string[] = []
  if (statusCode >= 500) return [`answered ${statusCode}: ${answer.body.slice(0, 160)}`]
  for (const secret of secrets) if (answer.body.includes(secret)) problems.push('the answer holds a key')
  const passed = hostile.mayPass === true && statusCode === 200
  if (!passed && (statusCode < 400 || statusCode >= 500)) return [...problems, `answered ${statusCode}: ${answer.body.slice(0, 160)}`]
  if (hostile.statuses !== undefined && !passed && !hostile.statuses.includes(statusCode)) {
    problems.push(`answered ${statusCode}, not ${hostile.statuses.join(' or ')}`)
  }
  const contentType = String(answer.headers['content-type'] ?? '')
  if (!contentType.startsWith('application/json')) problems.push(`content-type is ${JSON.stringify(contentType)}`)
  if (passed) return problems
  problems.push(...bodyProblems(statusCode, answer.body, answer.headers['x-elastic-product'] === 'Elasticsearch'))
  if (statusCode === 401 && answer.headers['www-authenticate'] === undefined) problems.push('a 401 without WWW-Authenticate')
  return problems
}

/** What is wrong with the answer's code, when the case names the one code that is right. */
export function codeProblems (hostile: Pick<HostileCase, 'code'>, answer: Answer): string[] {
  if (hostile.code === undefined) return []
  let code: unknown
  try {
    code = (JSON.parse(answer.body) as { code?: unknown }).code
  } catch {
    return []
  }
  return code === hostile.code ? [] : [`code is ${JSON.stringify(code)}, not ${hostile.code}`]
}

/** Sends a case through app.inject; a request inject itself refuses is a problem of the generator, reported as such. */
export async function send (app: FastifyInstance, hostile: HostileCase): Promise<Answer | string> {
  let res: LightMyRequestResponse
  try {
    res = await app.inject({
      method: hostile.method,
      url: hostile.url,
      headers: hostile.headers ?? {},
      ...(hostile.payload === undefined ? {} : { payload: hostile.payload }),
      ...(hostile.remoteAddress === undefined ? {} : { remoteAddress: hostile.remoteAddress })
    })
  } catch (error) {
    return `inject could not send it: ${(error as Error).message}`
  }
  return { statusCode: res.statusCode, headers: res.headers, body: res.body }
}
