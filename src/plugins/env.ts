// Validated configuration as `fastify.config`, by @fastify/env with the shared schema.
import fastifyEnv from '@fastify/env'
import fp from 'fastify-plugin'
import { checkConfig, envOptions, type Config } from '../config.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

export interface EnvOptions {
  /** Variables to read instead of process.env and `.env` (tests pass their own). */
  env?: Record<string, string | undefined>
}

export default fp<EnvOptions>(async function env (fastify, options) {
  await fastify.register(fastifyEnv, envOptions(options.env) as Parameters<typeof fastifyEnv>[1])
  checkConfig(fastify.config)
  fastify.log.level = fastify.config.LOG_LEVEL
}, { name: 'env' })
