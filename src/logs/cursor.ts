// Keyset cursors: the position after a page's last row, bound to the client
// it was issued to and signed, so that it can be neither forged, altered nor
// replayed by another client. With a replica, a cursor also carries how far
// the database its page was read on stood (replica-position.ts), so that the
// next page is read where every row after that position is, wherever it is
// asked for.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { Errors } from '../errors.ts'

export interface CursorPosition {
  executedAt: Date
  id: string
}

/** A cursor as decoded: the position, and how far the database its page came from stood, when known. */
export interface Cursor extends CursorPosition {
  seen?: string
}

interface Payload { c: string, o: string, t: string, i: string, w?: string }

export class CursorCodec {
  readonly #secret: Buffer

  constructor (secret: Buffer) {
    this.#secret = secret
  }

  #sign (data: string): Buffer {
    return createHmac('sha256', this.#secret).update(data).digest()
  }

  encode (clientId: string, order: string, position: CursorPosition, seen?: string): string {
    const payload: Payload = { c: clientId, o: order, t: position.executedAt.toISOString(), i: position.id, ...(seen === undefined ? {} : { w: seen }) }
    const data = Buffer.from(JSON.stringify(payload)).toString('base64url')
    return `${data}.${this.#sign(data).toString('base64url')}`
  }

  decode (cursor: string, clientId: string, order: string): Cursor {
    const [data = '', signature = '', ...rest] = cursor.split('.')
    // Compare the text, not decoded bytes: base64url decoding ignores the
    // spare low bits of the last character, so altered text could decode equal.
    const given = Buffer.from(signature)
    const expected = Buffer.from(this.#sign(data).toString('base64url'))
    if (rest.length > 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw Errors.invalidCursor('it was not issued by this service or has been altered')
    }
    const payload = JSON.parse(Buffer.from(data, 'base64url').toString()) as Payload
    if (payload.c !== clientId) throw Errors.invalidCursor('it was issued to another client')
    if (payload.o !== order) throw Errors.invalidCursor(`it continues a listing in order=${payload.o}; pass the same order`)
    return { executedAt: new Date(payload.t), id: payload.i, ...(payload.w === undefined ? {} : { seen: payload.w }) }
  }
}
