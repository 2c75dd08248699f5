// The webhook endpoints of one client, the only way a route reaches them: as
// keysOf is for keys, every operation is bound to the client it was made for.
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import type { Actor } from '../audit/store.ts'
import {
  createEndpoint, deleteEndpoint, endpointDeliveries, findEndpoint, listEndpoints, type Delivery, type Endpoint,
  type NewEndpoint
} from './endpoints.ts'

export interface ClientWebhooks {
  list: () => Promise<Endpoint[]>
  find: (id: string) => Promise<Endpoint | undefined>
  create: (endpoint: NewEndpoint, actor: Actor) => Promise<{ endpoint: Endpoint, secret: string }>
  delete: (id: string, actor: Actor) => Promise<Endpoint | undefined>
  deliveries: (id: string, limit: number) => Promise<Delivery[]>
}

export function webhooksOf (db: Kysely<Database>, client: { id: string }): ClientWebhooks {
  return {
    list: async () => await listEndpoints(db, client.id),
    find: async (id) => await findEndpoint(db, client.id, id),
    create: async (endpoint, actor) => await createEndpoint(db, client.id, endpoint, actor),
    delete: async (id, actor) => await deleteEndpoint(db, client.id, id, actor),
    deliveries: async (id, limit) => await endpointDeliveries(db, client.id, id, limit)
  }
}
