// The caller's own client over HTTP (GET and PATCH /api/v1/client): validation, types and OpenAPI.
import { Type, type Static } from '@sinclair/typebox'
import { DEFAULT_MAX_LENGTH } from './ingest-defaults.ts'

const Defaults = Type.Object({
  environment: Type.Union([Type.String(), Type.Null()], {
    description: 'The environment of a log that names none (POST /api/v1/logs, POST /v1/logs); null: none.'
  }),
  status: Type.Union([Type.String(), Type.Null()], {
    description: 'The status of a log that has none, upper-cased as logs store it; null: none.'
  })
})

export const ClientView = Type.Object({
  client_id: Type.String({ format: 'uuid' }),
  client_name: Type.String(),
  defaults: Defaults
}, { description: 'The caller\'s client: the tenant all its keys belong to.' })

export type ClientViewBody = Static<typeof ClientView>

// Lengths are checked on the value as stored (a status upper-cased), by the
// route, which names the field; the schema bounds what is read.
const DefaultText = (field: keyof typeof DEFAULT_MAX_LENGTH, description: string) => Type.Optional(Type.Union([
  Type.String({ minLength: 1, maxLength: DEFAULT_MAX_LENGTH[field] * 4 }),
  Type.Null()
], { description }))

export const UpdateClientBody = Type.Object({
  defaults: Type.Object({
    environment: DefaultText('environment', `1 to ${DEFAULT_MAX_LENGTH.environment} characters of printable text; null clears it.`),
    status: DefaultText('status', `1 to ${DEFAULT_MAX_LENGTH.status} characters of printable text once upper-cased; null clears it.`)
  }, { additionalProperties: false, minProperties: 1 })
}, { additionalProperties: false })

export type UpdateClientBodyType = Static<typeof UpdateClientBody>
