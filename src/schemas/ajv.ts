// Every JSON schema validator of the service is set up here.
//
// How request schemas are applied, everywhere: query strings coerced from
// text, defaults filled in, and unknown properties refused (never silently
// dropped, so a mistyped filter cannot quietly widen a query). Fastify
// compiles the routes' schemas with these options (app.ts); the compilers
// below are for the routes and checks that choose theirs.
import AjvModule, { type Ajv as AjvInstance } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { isDateTime } from './date-time-format.ts'

export const REQUEST_AJV_OPTIONS = { removeAdditional: false, coerceTypes: 'array', useDefaults: true } as const

// ajv and ajv-formats are CommonJS modules with a default export.
const Ajv = AjvModule.default
const addFormats = addFormatsModule.default

function withFormats (ajv: AjvInstance): AjvInstance {
  addFormats(ajv)
  // The same check as ajv-formats', without its allocations (date-time-format.ts).
  ajv.addFormat('date-time', { type: 'string', validate: isDateTime })
  return ajv
}

/** Query strings and path parameters, which arrive as text: coerced, as Fastify's own. */
export const textAjv = withFormats(new Ajv({ ...REQUEST_AJV_OPTIONS, strict: false }))

/** JSON bodies, taken as typed: `"name": 5` or `"scopes": "logs:read"` is reported, not turned into something else. */
export const bodyAjv = withFormats(new Ajv({ ...REQUEST_AJV_OPTIONS, coerceTypes: false, strict: false }))

/** Log entries, checked one by one: no coercion ("12" is not a duration), and every error at once, so a client fixes an entry in one go. */
export const entryAjv = withFormats(new Ajv({ allErrors: true, useDefaults: true, coerceTypes: false, strict: false }))
