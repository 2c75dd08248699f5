// The log explorer: GET / for a browser, and its files under /explorer/. No
// key here: the page asks for one and sends it on its own API requests. A
// client's GET / with a key, or not asking for HTML, is Elasticsearch's
// version probe (elastic/probe.ts), whose route constraint takes it first.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { Errors } from '../errors.ts'
import { errorResponses } from '../schemas/errors.ts'
import { NoQuery } from '../keys/schemas.ts'
import { ASSET_PREFIX, chooseEncoding, loadAssets, type Asset } from './assets.ts'
import { cacheControl, PAGE_HEADERS } from './headers.ts'

export interface ExplorerOptions {
  /** The directory npm run build:explorer wrote. */
  dir: string
}

function send (request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  reply.headers(PAGE_HEADERS)
    .header('cache-control', cacheControl(asset.immutable))
    .header('etag', asset.etag)
    .header('vary', 'accept-encoding')
    .type(asset.type)
  const ifNoneMatch = request.headers['if-none-match']
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === asset.etag)) return reply.code(304).send()
  const encoding = chooseEncoding(asset, request.headers['accept-encoding'])
  if (encoding === undefined) return reply.send(asset.identity)
  return reply.header('content-encoding', encoding).send(encoding === 'br' ? asset.br : asset.gzip)
}

const FILE_ANSWER = {
  description: 'The file.',
  content: { 'text/html': { schema: Type.String() }, 'text/javascript': { schema: Type.String() }, 'text/css': { schema: Type.String() } }
}

const explorerRoutes: FastifyPluginAsync<ExplorerOptions> = async (app, { dir }) => {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  const assets = await loadAssets(dir)
  if (assets === undefined) fastify.log.warn({ dir }, 'the explorer page is not built, so GET / answers 503: run npm run build:explorer')

  fastify.get('/', {
    schema: {
      tags: ['explorer'],
      summary: 'The log explorer, for a browser (a request asking for text/html, without a key)',
      description: 'Sign in with a key; search, count and follow its logs, and manage its keys with keys:manage. ' +
        'The page keeps its view in the URL\'s fragment, so this route takes no query parameters.',
      querystring: NoQuery,
      response: { 200: { ...FILE_ANSWER, content: { 'text/html': FILE_ANSWER.content['text/html'] } }, ...errorResponses(400, 503) }
    }
  }, async (request, reply) => {
    if (assets === undefined) throw Errors.explorerNotBuilt()
    return send(request, reply, assets.page)
  })

  fastify.get(`${ASSET_PREFIX}:file`, {
    schema: {
      tags: ['explorer'],
      summary: 'A file of the log explorer',
      params: Type.Object({ file: Type.String({ maxLength: 128 }) }),
      querystring: NoQuery,
      response: { 200: FILE_ANSWER, ...errorResponses(400, 404) }
    }
  }, async (request, reply) => {
    const asset = assets?.files.get(request.params.file)
    if (asset === undefined) throw Errors.routeNotFound('GET', request.url.split('?')[0] ?? request.url)
    return send(request, reply, asset)
  })
}

export default explorerRoutes
