// Response bodies written by serializers compiled from the route schemas
// (fast-json-stringify, as Fastify does), from a form of each schema that
// compiles to plain code. As documented, a nullable field is a union with
// null and an answer of two shapes is a union of both; compiled as they are,
// each union validates its alternatives, with ajv, on every response. Here a
// nullable field is a list of types, checked inline, and an answer of several
// object shapes is told apart by a property that only one of them requires.
import type { FastifySerializerCompiler } from 'fastify'
import fastJsonStringify from 'fast-json-stringify'
import { ErrorResponse } from './errors.ts'

type Schema = Record<string, unknown>
type Serialize = (value: unknown) => string

const EXTERNAL: Record<string, Schema> = { ErrorResponse: plain(ErrorResponse) }

/** fast-json-stringify, given schemas it did not build itself. */
const fastJson = fastJsonStringify as unknown as (schema: Schema, options: { schema: Record<string, Schema> }) => Serialize

/** A JSON Schema as JSON (TypeBox's own symbols dropped). */
function plain (schema: unknown): Schema {
  return JSON.parse(JSON.stringify(schema)) as Schema
}

function isSchema (value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `{anyOf: [X, {type: 'null'}]}` with X of one type: X with `type: [its type, 'null']`. */
function nullableType (schema: Schema): Schema | undefined {
  const options = schema.anyOf
  if (!Array.isArray(options) || options.length !== 2) return undefined
  const nulls = options.filter((option) => isSchema(option) && option.type === 'null' && Object.keys(option).length === 1)
  const other = options.find((option) => !nulls.includes(option))
  if (nulls.length !== 1 || !isSchema(other) || typeof other.type !== 'string' || other.anyOf !== undefined) return undefined
  const { anyOf: _anyOf, ...siblings } = schema
  return { ...siblings, ...other, type: [other.type, 'null'] }
}

/** The schema with every nullable union, at any depth, written as a list of types. */
export function withNullableTypes (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withNullableTypes)
  if (!isSchema(schema)) return schema
  const nullable = nullableType(schema)
  const source = nullable ?? schema
  const out: Schema = {}
  for (const [keyword, value] of Object.entries(source)) {
    out[keyword] = ['properties', 'patternProperties', 'definitions', '$defs'].includes(keyword) && isSchema(value)
      ? Object.fromEntries(Object.entries(value).map(([name, child]) => [name, withNullableTypes(child)]))
      : ['items', 'additionalProperties', 'anyOf', 'oneOf', 'allOf'].includes(keyword) ? withNullableTypes(value) : value
  }
  return out
}

/** For each object shape of a union, a property it requires and no other shape does; undefined when one has none. */
function distinguishingProperties (shapes: Schema[]): string[] | undefined {
  const required = shapes.map((shape) => Array.isArray(shape.required) ? shape.required as string[] : [])
  const marks = required.map((own, index) => own.find((name) => required.every((other, at) => at === index || !other.includes(name))))
  return marks.every((mark) => mark !== undefined) ? marks as string[] : undefined
}

/** A serializer for one response schema. */
export function compileResponse (schema: unknown): Serialize {
  const prepared = withNullableTypes(plain(schema)) as Schema
  const shapes = Array.isArray(prepared.anyOf) && prepared.anyOf.every((shape) => isSchema(shape) && shape.type === 'object')
    ? prepared.anyOf as Schema[]
    : undefined
  const marks = shapes === undefined ? undefined : distinguishingProperties(shapes)
  if (shapes === undefined || marks === undefined) return fastJson(prepared, { schema: EXTERNAL })
  const serializers = shapes.map((shape) => fastJson(shape, { schema: EXTERNAL }))
  return (value) => {
    if (isSchema(value)) {
      for (let index = 0; index < marks.length; index++) if (Object.hasOwn(value, marks[index]!)) return serializers[index]!(value)
    }
    throw new TypeError('The response matches none of the shapes its schema allows.')
  }
}

/** A route's serializerCompiler: every response schema of the route compiled as above. */
export const responseSerializers: FastifySerializerCompiler<unknown> = ({ schema }) => compileResponse(schema)
