// The bytes of request bodies received and held but not yet answered,
// counted after decompression, per address group and in all. A client that
// sends bodies and withholds their last bytes holds that memory for as long
// as its connections last: the caps bound what all such uploads can hold, and
// what one address can hold among them.
import type { ServerResponse } from 'node:http'
import { Errors } from '../errors.ts'
import { addressGroup } from '../net/address-group.ts'

export interface InFlightLimits {
  perAddress: number
  total: number
  retryAfterSeconds: number
}

export class InFlightBytes {
  private readonly limits: InFlightLimits
  private readonly byAddress = new Map<string, number>()
  private held = 0
  private highest = 0

  constructor (limits: InFlightLimits) {
    this.limits = limits
  }

  /** Bytes held now, in all or by one address group. */
  heldBy (group?: string): number {
    return group === undefined ? this.held : this.byAddress.get(group) ?? 0
  }

  /** The most ever held at once, in all. */
  get peak (): number {
    return this.highest
  }

  /** Takes `bytes` for the group, or throws 503 too_many_body_bytes, taking nothing, when a cap would be passed. */
  take (group: string, bytes: number): void {
    const byGroup = (this.byAddress.get(group) ?? 0) + bytes
    if (byGroup > this.limits.perAddress) throw Errors.tooManyBodyBytes('address', this.limits.perAddress, this.limits.retryAfterSeconds)
    if (this.held + bytes > this.limits.total) throw Errors.tooManyBodyBytes('service', this.limits.total, this.limits.retryAfterSeconds)
    this.byAddress.set(group, byGroup)
    this.held += bytes
    if (this.held > this.highest) this.highest = this.held
  }

  release (group: string, bytes: number): void {
    if (bytes === 0) return
    const left = (this.byAddress.get(group) ?? 0) - bytes
    if (left > 0) this.byAddress.set(group, left)
    else this.byAddress.delete(group)
    this.held -= bytes
  }

  /** What one request holds: taken as its body arrives, given back when its response closes, however it ends. */
  holdFor (address: string, response: ServerResponse): BodyHold {
    return new BodyHold(this, address, response)
  }
}

export class BodyHold {
  private readonly bytes: InFlightBytes
  private readonly address: string
  private readonly response: ServerResponse
  /** The address's group, worked out when the first bytes are taken: most requests (a GET) take none. */
  private group = ''
  private held = 0
  private listening = false
  private released = false

  constructor (bytes: InFlightBytes, address: string, response: ServerResponse) {
    this.bytes = bytes
    this.address = address
    this.response = response
  }

  take (bytes: number): void {
    if (this.released) return
    if (!this.listening) {
      // A response that closed already (its connection gone) has nothing left to hold for.
      if (this.response.closed) {
        this.released = true
        return
      }
      // 'close' comes once the response is sent, or when the connection is gone before it could be.
      this.response.once('close', () => { this.release() })
      this.listening = true
      this.group = addressGroup(this.address)
    }
    this.bytes.take(this.group, bytes)
    this.held += bytes
  }

  release (): void {
    if (this.released) return
    this.released = true
    this.bytes.release(this.group, this.held)
    this.held = 0
  }
}
