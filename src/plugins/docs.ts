// OpenAPI 3 generated from the route schemas, served at /docs (UI) and /docs/json.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

const SIGNED = { signatureTimestamp: [], signatureNonce: [], signature: [] }

function scopeNeeded (scope: string): string {
  return scope === 'any' ? 'Any accepted key, whatever its scopes.' : `Requires the \`${scope}\` scope.`
}

export default fp(async function docs (fastify) {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'central-logger',
        description: 'Multi-tenant log ingestion: POST run logs with an API key, query only your own.',
        version: '0.1.0'
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          bearer: { type: 'http', scheme: 'bearer', description: 'The API key as a bearer token (or `Authorization: Api-Key <key>`, `ApiKey <key>`, or `Basic` with the key as the password).' },
          // A client that signs sends these three besides its key (see the README's "Signed requests").
          signatureTimestamp: { type: 'apiKey', in: 'header', name: 'X-API-Timestamp', description: 'Unix seconds, within 300 s of the service\'s clock.' },
          signatureNonce: { type: 'apiKey', in: 'header', name: 'X-API-Nonce', description: '16 to 128 printable characters, new for every request.' },
          signature: {
            type: 'apiKey',
            in: 'header',
            name: 'X-API-Signature',
            description: 'Hex HMAC-SHA256 with the client\'s signing secret of timestamp + nonce + API key + METHOD + path + sorted query + hex SHA-256 of the body as sent.'
          }
        }
      },
      tags: [
        { name: 'logs', description: 'Ingest and query (needs logs:write / logs:read)' },
        { name: 'elasticsearch', description: 'Elasticsearch bulk ingest, for its clients and shippers (needs logs:write)' },
        { name: 'operations', description: 'Health, readiness and metrics: no API key' },
        { name: 'explorer', description: 'The log explorer page for browsers, no key (the page asks for one)' }
      ]
    },
    // Authenticated routes say which scope they need; the rest need no key.
    transform: ({ schema, url, route }) => {
      const scope = route.config?.scope
      if (scope === undefined) return { schema, url }
      return {
        schema: { ...schema, security: [{ apiKey: [] }, { bearer: [] }, { ...SIGNED, apiKey: [] }, { ...SIGNED, bearer: [] }], description: `${schema?.description ?? ''}\n\n${scopeNeeded(scope)}`.trim() },
        url
      }
    }
  })
  await fastify.register(swaggerUi, { routePrefix: '/docs' })
}, { name: 'docs' })
