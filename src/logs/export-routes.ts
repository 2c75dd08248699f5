// GET /api/v1/logs/export: the caller's logs that pass the listing's filters,
// streamed as NDJSON or CSV, a page at a time (export-pages.ts), under the
// query limits. Registered inside the authenticated scope.
import { Readable } from 'node:stream'
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { clientOf } from '../auth/client.ts'
import { queryLimitsDescription } from '../queries/runner.ts'
import { AUTHENTICATED_ERRORS, errorResponses } from '../schemas/errors.ts'
import { exportPages } from './export-pages.ts'
import { ENCODINGS, exportFilename, type ExportEncoding } from './export-formats.ts'
import { logFilters } from './filters.ts'
import { ExportQuery, StoredLog } from './schemas.ts'
import type { PublicLogText } from './tenant-logs.ts'

// What the body stream holds before it stops asking for the next page: far
// below one page, so that a page is read only once the one before has gone
// to the socket, and the socket has taken it (its write() returned true, or it
// emitted 'drain': pipe's back-pressure).
const BODY_HIGH_WATER_MARK = 64 * 1024

function text (page: PublicLogText[], encoding: ExportEncoding): string {
  return page.map(encoding.line).join('')
}

/**
 * The export's bytes: the head and the first page (read before the answer
 * began, so that its failure is an ordinary error answer), then the pages
 * after it. Failing here, after the first byte, the answer cannot change its
 * status: the error ends the body stream, and Fastify then destroys the
 * connection, so the client sees a transfer cut short rather than an end.
 */
async function * body (first: PublicLogText[], rest: AsyncGenerator<PublicLogText[]>, encoding: ExportEncoding,
  request: FastifyRequest, log: FastifyBaseLogger): AsyncGenerator<string> {
  let rows = first.length
  let outcome: 'complete' | 'failed' | undefined
  try {
    log.trace({ page_rows: first.length, rows }, 'export page read')
    yield encoding.head + text(first, encoding)
    for await (const page of rest) {
      rows += page.length
      log.trace({ page_rows: page.length, rows }, 'export page read')
      yield text(page, encoding)
    }
    outcome = 'complete'
    log.debug({ rows }, 'export complete')
  } catch (error) {
    if (request.raw.socket?.destroyed !== true) {
      outcome = 'failed'
      log.error({ err: error, rows }, 'export failed after its answer began: the connection is closed to show it incomplete')
    }
    throw error
  } finally {
    // Stopped from outside (the body stream destroyed once its socket closed), or cancelled because the client went away.
    if (outcome === undefined) log.info({ rows }, 'export stopped: the client went away')
  }
}

/**
 * The body as a stream: a chunk is asked of `chunks` whenever the stream wants
 * one, as Readable.from would. Not Readable.from itself: its reading loop
 * awaits the next chunk with the one before still in a variable of its
 * suspended frame, so each page's text (0.9 MB on the bench's logs) was still reachable while
 * the next page was read, and V8 moved most of them to the old generation:
 * the service's memory grew by some 100 MB during an export before a full
 * collection took it back (README, Performance).
 */
function bodyStream (chunks: AsyncGenerator<string>): Readable {
  let reading = false
  const stream = new Readable({
    highWaterMark: BODY_HIGH_WATER_MARK,
    read () {
      if (reading) return
      reading = true
      chunks.next().then((next) => {
        reading = false
        // When push() returns true the stream calls read() again: pipe's back-pressure, as with Readable.from.
        stream.push(next.done === true ? null : next.value)
      }, (error: unknown) => { stream.destroy(error instanceof Error ? error : new Error(String(error))) })
    },
    destroy (error, callback) {
      // As Readable.from: the generator is given the error, or told to return, so that its finally blocks run.
      const closing = error === null ? chunks.return(undefined) : chunks.throw(error).then(async () => await chunks.return(undefined))
      closing.then(() => { callback(error) }, (thrown: unknown) => { callback(thrown instanceof Error ? thrown : error) })
    }
  })
  return stream
}

const exportRoutes: FastifyPluginAsync = async (app) => {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  const config = fastify.config

  fastify.get('/api/v1/logs/export', {
    config: { scope: 'logs:read' },
    schema: {
      tags: ['logs'],
      summary: 'Export the caller\'s logs as NDJSON or CSV, streamed, oldest first',
      description: 'Every log that passes the filters (those of GET /api/v1/logs), in (executed_at, id) order, streamed in pages of ' +
        `at most 1000 rows and ${config.MAX_PAGE_BYTES} bytes, each page its own statement: QUERY_TIMEOUT_MS ` +
        `(${config.QUERY_TIMEOUT_MS} ms) bounds each page, not the export, and the export holds one query slot until its ` +
        'last byte. A page is read only when the client has taken the one before. A failure after the first byte cannot ' +
        'change the status: the connection is closed without ending the chunked body, so a cut export never looks complete. ' +
        queryLimitsDescription(config),
      querystring: ExportQuery,
      produces: ['application/x-ndjson', 'text/csv'],
      response: {
        200: {
          description: 'The logs, one per line (NDJSON) or one per record after a header record (CSV).',
          content: {
            'application/x-ndjson': { schema: StoredLog },
            'text/csv': { schema: Type.String({ description: 'A header record of the public columns, then one record per log (RFC 4180, CRLF).' }) }
          }
        },
        ...errorResponses(...AUTHENTICATED_ERRORS)
      }
    }
  }, async (request, typedReply) => {
    // The schema documents the lines of the body; the body itself is a stream, which no schema types.
    const reply: FastifyReply = typedReply
    const { query } = request
    const client = clientOf(request)
    const encoding = ENCODINGS[query.format]
    // Set only on the way to a 200: an error answer before it is JSON, and no attachment.
    const asFile = (): FastifyReply => reply.type(encoding.contentType)
      .header('content-disposition', `attachment; filename="${exportFilename(new Date(), encoding)}"`)
    // HEAD answers with the headers alone: Fastify would otherwise run the whole export to throw its bytes away.
    if (request.method === 'HEAD') return await asFile().send()

    const filters = logFilters(query)
    await fastify.queries.runOnReplica(request, async (db) => {
      const pages = exportPages(db, client, filters, { order: query.order, maxBytes: config.MAX_PAGE_BYTES })
      const first = await pages.next()
      const stream = bodyStream(body(first.done === true ? [] : first.value, pages, encoding, request, request.log))
      // The slot and the signal that cancels a statement of a client gone are
      // held until the stream closes: once the last page is out, or once its
      // pages have stopped (the client went away, or a page failed).
      const closed = new Promise((resolve) => stream.once('close', resolve))
      void asFile().send(stream)
      await closed
    })
    return reply
  })
}

export default exportRoutes
