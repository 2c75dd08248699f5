// The provider's view of the stores: every client's rows at once. Only the
// CLI may import this (eslint.config.js): a route reaches a store with its
// caller's client, never with this.
import type { EveryClient } from '../db/scope.ts'

export const EVERY_CLIENT = Object.freeze({}) as EveryClient
