// The compilers Fastify turns route schemas into validators and response
// serializers with, shared by every app this process builds. Fastify's own
// make a new set per app, so each build compiles every schema again (about
// half of the time a build takes); shared, each schema object is compiled
// once: ajv keeps what it compiled per schema object, and the serializers are
// kept here the same way. A process that builds many apps (the test suite,
// a restart in place) builds the later ones in a fraction of the time.
import AjvCompiler from '@fastify/ajv-compiler'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import type { FastifyServerOptions } from 'fastify'

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>
type SerializerFactory = NonNullable<CompilersFactory['buildSerializer']>
type Serializer = (data: unknown) => string

const buildValidator = AjvCompiler()

const buildFreshSerializer = SerializerSelector()
// Per set of shared schemas and options, as Fastify's own pools are keyed.
const serializersByOptions = new Map<string, WeakMap<object, Serializer>>()

const buildSerializer: SerializerFactory = (externalSchemas, options) => {
  const key = JSON.stringify([externalSchemas, options])
  let serializers = serializersByOptions.get(key)
  if (serializers === undefined) {
    serializers = new WeakMap()
    serializersByOptions.set(key, serializers)
  }
  const compile = buildFreshSerializer(externalSchemas, options)
  const known = serializers
  return (route) => {
    const schema = route.schema as object
    let serializer = known.get(schema)
    if (serializer === undefined) {
      serializer = compile(route) as Serializer
      known.set(schema, serializer)
    }
    return serializer
  }
}

export const sharedCompilers: CompilersFactory = { buildValidator, buildSerializer }
