// What a request that failed its schema is told: not Ajv's words for the
// schema ("must NOT have additional properties", "must be equal to one of the
// allowed values") but what to send instead, read off the route's own schema:
// the parameters it takes, the values allowed, a time in the form expected.
import type { FastifySchemaValidationError } from 'fastify'

/** A time in the form every time parameter and field takes. */
export const TIME_EXAMPLE = '2026-11-01T00:00:00Z'

interface SchemaNode {
  properties?: Record<string, SchemaNode>
  items?: SchemaNode
}

/** The part of `schema` at a JSON pointer such as /filters/0, when the schema says what it is. */
function schemaAt (schema: unknown, instancePath: string): SchemaNode | undefined {
  let node = schema as SchemaNode | undefined
  for (const part of instancePath.split('/').filter((segment) => segment !== '')) {
    if (node === undefined) return undefined
    node = /^\d+$/.test(part) && node.items !== undefined ? node.items : node.properties?.[part]
  }
  return node
}

const LISTED = (values: readonly unknown[]): string => values.map((value) => JSON.stringify(value)).join(', ')

/**
 * One issue in words a client can act on. `context` is the part of the
 * request it is in ("querystring", "body", "headers").
 */
export function explainIssue (context: string, issue: FastifySchemaValidationError, schema: unknown): string {
  const params = issue.params as Record<string, unknown>
  const name = issue.instancePath.split('/').filter((part) => part !== '').join('.')
  const subject = name === '' ? context : `${context === 'querystring' ? 'parameter' : 'field'} "${name}"`
  switch (issue.keyword) {
    case 'additionalProperties': {
      const known = Object.keys(schemaAt(schema, issue.instancePath)?.properties ?? {})
      const unknown = `${context === 'querystring' && name === '' ? 'parameter' : 'field'} "${String(params.additionalProperty)}"`
      if (known.length === 0) return `unknown ${unknown}: ${name === '' ? 'this route takes none' : `"${name}" takes none`}`
      return `unknown ${unknown}; ${name === '' ? `the ${context}` : `"${name}"`} takes ${known.join(', ')}`
    }
    case 'required':
      return `${subject} needs "${String(params.missingProperty)}"`
    case 'enum':
      return `${subject} must be one of ${LISTED(params.allowedValues as unknown[])}`
    case 'format':
      return params.format === 'date-time'
        ? `${subject} must be a date and time with a time zone, such as ${TIME_EXAMPLE}`
        : `${subject} must be a ${String(params.format)}`
    default:
      return `${subject} ${issue.message ?? 'is invalid'}`
  }
}
