// The Elasticsearch routes' answers, in the shapes Elasticsearch's clients
// read: the bulk response, the root (version) answer, the license answer,
// and this service's error with Elasticsearch's top-level `status` beside it.
import { Type, type Static } from '@sinclair/typebox'
import { ErrorResponse } from '../schemas/errors.ts'

export const ItemErrorBody = Type.Object({
  type: Type.String({ description: 'Elasticsearch\'s exception name, e.g. mapper_parsing_exception, version_conflict_engine_exception.' }),
  reason: Type.String(),
  index: Type.Optional(Type.String())
})

export const BulkItemResult = Type.Object({
  _index: Type.String(),
  _id: Type.Union([Type.String(), Type.Null()], { description: 'The action\'s _id, else the document\'s event.id, else the stored log\'s id.' }),
  status: Type.Integer({ description: '201 stored; 200 an index action whose _id was stored before (result noop); 400, 409, 429 refused.' }),
  result: Type.Optional(Type.String({ description: 'created, or noop.' })),
  _version: Type.Optional(Type.Integer()),
  _seq_no: Type.Optional(Type.Integer()),
  _primary_term: Type.Optional(Type.Integer()),
  _shards: Type.Optional(Type.Object({ total: Type.Integer(), successful: Type.Integer(), failed: Type.Integer() })),
  error: Type.Optional(ItemErrorBody)
})

export type BulkItemResultBody = Static<typeof BulkItemResult>

export const BulkResponse = Type.Object({
  took: Type.Integer({ description: 'Milliseconds the request took.' }),
  errors: Type.Boolean({ description: 'Whether any item was refused.' }),
  items: Type.Array(Type.Record(Type.String(), BulkItemResult), {
    description: 'One per action, in order, keyed by the action as sent: {"create": {…}} or {"index": {…}}.'
  })
})

export type BulkResponseBody = Static<typeof BulkResponse>

export const RootResponse = Type.Object({
  name: Type.String(),
  cluster_name: Type.String(),
  cluster_uuid: Type.String(),
  version: Type.Object({
    number: Type.String(),
    build_flavor: Type.String(),
    build_type: Type.String(),
    build_hash: Type.String(),
    build_date: Type.String(),
    build_snapshot: Type.Boolean(),
    lucene_version: Type.String(),
    minimum_wire_compatibility_version: Type.String(),
    minimum_index_compatibility_version: Type.String()
  }),
  tagline: Type.String()
}, { description: 'The version answer of an Elasticsearch node, which shippers read when they connect.' })

export const LicenseResponse = Type.Object({
  license: Type.Object({
    status: Type.String(),
    uid: Type.String(),
    type: Type.String(),
    mode: Type.String(),
    issue_date_in_millis: Type.Integer(),
    issued_to: Type.String(),
    issuer: Type.String()
  })
}, { description: 'An active basic license, which Filebeat and Logstash check for when they connect.' })

/** This service's error, with Elasticsearch's top-level `status` (the same number as statusCode), which its clients read. */
export const ElasticErrorResponse = Type.Object({
  ...ErrorResponse.properties,
  status: Type.Integer({ description: 'The HTTP status, where Elasticsearch\'s clients look for it.' })
}, { description: 'Error' })
