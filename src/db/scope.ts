// Whose rows a store function reads or changes. Every store function that can
// reach more than one client's rows takes a scope, and cannot be called
// without one: a route passes its caller's client; only the provider's own
// tools (the CLI) may name every client, with a value made in src/provider/,
// which no other part of src may import (eslint.config.js).
declare const everyClient: unique symbol

/** Every client's rows: the provider's view. Its only value is EVERY_CLIENT, in src/provider/every-client.ts. */
export interface EveryClient { readonly [everyClient]: true }

export type ClientScope = { readonly clientId: string } | EveryClient

/** The client id to filter on, or undefined for every client. */
export function scopedClientId (scope: ClientScope): string | undefined {
  return 'clientId' in scope ? scope.clientId : undefined
}
