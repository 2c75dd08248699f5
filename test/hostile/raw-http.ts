// Bytes over a real socket, for what app.inject cannot send: bytes that are
// not UTF-8 in the request line, repeated or contradictory framing headers,
// a Content-Length that lies, and data that is not HTTP at all. The answers
// are read back as HTTP/1.1 responses, however many the bytes provoked.
import net from 'node:net'
import type { Answer } from './check.ts'

export interface RawSend {
  bytes: Buffer
  /** Half-close the socket this long after writing: the end of input a request still waiting for its body needs. */
  endAfterMs?: number
}

const GIVE_UP_MS = 3000

/** Everything the server sent until it closed the connection (or until GIVE_UP_MS passed). */
export async function exchange (port: number, send: RawSend): Promise<{ received: Buffer, closed: boolean }> {
  return await new Promise((resolve) => {
    const chunks: Buffer[] = []
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(send.bytes)
      if (send.endAfterMs !== undefined) setTimeout(() => { if (!socket.destroyed) socket.end() }, send.endAfterMs)
    })
    const finish = (closed: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ received: Buffer.concat(chunks), closed })
    }
    const timer = setTimeout(() => { finish(false) }, GIVE_UP_MS)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('close', () => { finish(true) })
    // A reset after the answer was sent is the server closing a connection it is done with.
    socket.on('error', () => { finish(true) })
  })
}

/** The body of a chunked response, decoded. */
function dechunk (data: Buffer): { body: Buffer, rest: Buffer } {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at)
    if (lineEnd === -1) throw new Error('a chunk size line is cut off')
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16)
    if (Number.isNaN(size)) throw new Error('a chunk size is not hexadecimal')
    at = lineEnd + 2
    if (size === 0) return { body: Buffer.concat(parts), rest: data.subarray(data.indexOf('\r\n', at) + 2) }
    parts.push(data.subarray(at, at + size))
    at += size + 2
  }
}

/** The responses in what the server sent, in order; throws when it is not HTTP/1.1 responses. */
export function parseResponses (received: Buffer): Answer[] {
  const answers: Answer[] = []
  let rest = received
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n')
    if (headEnd === -1) throw new Error(`not an HTTP response: ${JSON.stringify(rest.subarray(0, 60).toString('latin1'))}`)
    const [statusLine = '', ...headerLines] = rest.subarray(0, headEnd).toString('latin1').split('\r\n')
    const status = /^HTTP\/1\.[01] (\d{3}) /.exec(statusLine)
    if (status === null) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`)
    const headers: Record<string, string> = {}
    for (const line of headerLines) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    const data = rest.subarray(headEnd + 4)
    let body: Buffer
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      ({ body, rest } = dechunk(data))
    } else {
      const length = Number(headers['content-length'] ?? data.length)
      body = data.subarray(0, length)
      rest = data.subarray(length)
    }
    answers.push({ statusCode: Number(status[1]), headers, body: body.toString('utf8') })
  }
  return answers
}
