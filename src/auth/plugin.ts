// The services authentication needs, built once and decorated on the app: the
// key resolver and its cache (kept true by the database's key-change
// notifications), the failed-authentication throttle (shared through Redis
// when there is one), the report of blocked addresses, and the nonce store of
// signed requests. The hooks that use them are in hooks.ts; they also record
// failures and count requests through the usage and audit plugins, which
// this one therefore depends on.
import fp from 'fastify-plugin'
import type { FastifyBaseLogger } from 'fastify'
import { AuthThrottle } from './auth-throttle.ts'
import { SharedAuthFailures } from './shared-auth-failures.ts'
import { loadDevKeys, type DevKey } from './dev-keys.ts'
import { KeyChangeListener } from './invalidation.ts'
import { KeyResolver, type AuthenticatedClient } from './resolver.ts'
import { BlockReporter } from './throttle-blocks.ts'
import type { Identified } from './hooks.ts'
import type { Scope } from '../keys/scopes.ts'
import { PostgresNonceStore, RedisNonceStore, type NonceStore } from '../signing/nonces.ts'
import type { SignedNonce } from '../signing/verify.ts'

declare module 'fastify' {
  interface FastifyInstance {
    keyResolver: KeyResolver
    authThrottle: AuthThrottle
    /** With Redis: failed authentications counted across instances. */
    sharedAuthFailures: SharedAuthFailures | undefined
    /** Reports this instance's blocked addresses where the provider's CLI sees them. */
    authBlocks: BlockReporter
    nonces: NonceStore
  }
  interface FastifyRequest {
    /**
     * The authenticated client, once the preHandler has accepted the key;
     * null before, and outside the authenticated routes. Routes read it
     * with clientOf (client.ts).
     */
    client: AuthenticatedClient | null
    /** The key and what it resolved to before the body was read; the preHandler makes `client` of it. */
    identified: Identified | null
    /** A signed request's nonce, verified and still to be claimed. */
    signedNonce: SignedNonce | null
  }
  interface FastifyContextConfig {
    /**
     * The scope a key needs for this route; `any`: every accepted key,
     * whatever its scopes (what a key may know of itself).
     */
    scope?: Scope | 'any'
  }
}

export interface AuthOptions {
  /** Development keys from the environment (parsed once, when the app is built). */
  devKeys?: DevKey[]
}

export default fp<AuthOptions>(async function auth (fastify, options) {
  const config = fastify.config
  const devKeys = options.devKeys ?? []
  if (devKeys.length > 0) {
    fastify.log.warn({ keys: devKeys.map((key) => key.source) },
      'plaintext development keys are configured in the environment (API_KEYS, API_KEY_<NAME>): do not use them in production')
  }
  const resolver = new KeyResolver(fastify.db, {
    ttlMs: config.KEY_CACHE_TTL_SECONDS * 1000,
    max: config.KEY_CACHE_MAX,
    devKeys: await loadDevKeys(fastify.db, devKeys),
    signingKey: config.SIGNING_KEY
  })
  if (config.API_SIGNING_REQUIRED && (config.SIGNING_KEY ?? '') === '') {
    fastify.log.warn('API_SIGNING_REQUIRED is true but SIGNING_KEY is not set: no stored client can sign, so only ' +
      'development keys with a signing secret are accepted')
  }
  const nonces: NonceStore = fastify.redis === undefined ? new PostgresNonceStore(fastify.db) : new RedisNonceStore(fastify.redis, config.REDIS_PREFIX)
  fastify.decorate('nonces', nonces)
  fastify.decorate('keyResolver', resolver)
  const flushEveryMs = config.USAGE_FLUSH_SECONDS * 1000
  const blocks = new BlockReporter(fastify.db, fastify.log, flushEveryMs)
  fastify.decorate('authBlocks', blocks)
  const throttleOptions = {
    maxFailures: config.AUTH_FAIL_MAX,
    windowMs: config.AUTH_FAIL_WINDOW_SECONDS * 1000,
    cooldownMs: config.AUTH_FAIL_COOLDOWN_SECONDS * 1000,
    onBlock: (group: string, since: number, until: number) => {
      fastify.metrics.authBlock()
      blocks.report(group, since, until)
    }
  }
  const throttle = new AuthThrottle(throttleOptions)
  const shared = fastify.redis === undefined
    ? undefined
    : new SharedAuthFailures(fastify.redis, throttle, throttleOptions, fastify.log, config.REDIS_PREFIX)
  fastify.decorate('authThrottle', throttle)
  fastify.decorate('sharedAuthFailures', shared)
  if (shared !== undefined) fastify.addHook('onClose', async () => { shared.close() })
  warnIfProxyUnseen(fastify.log, config.HOST, config.TRUST_PROXY)

  // Always listening, cache or not: the key directory and the throttle's orders arrive the same way.
  const cacheKeys = config.KEY_CACHE_TTL_SECONDS > 0
  let started = false
  const readDirectory = async (): Promise<void> => {
    await resolver.directory.load(fastify.db).catch((error: unknown) => {
      fastify.log.warn({ err: error }, 'could not read the key directory; a throttled address\'s keys wait until it is read')
    })
  }
  const listener = new KeyChangeListener(fastify.databaseUrl, {
    // A key id, `client:<id>` when a client's own settings changed, or `new:<hash>` for a key created.
    changed: (payload) => {
      if (payload.startsWith('new:')) resolver.directory.add(Buffer.from(payload.slice('new:'.length), 'hex'))
      else if (payload.startsWith('client:')) resolver.forgetClient(payload.slice('client:'.length))
      else resolver.forget(payload)
    },
    unblocked: (group) => {
      if (group === '*') throttle.unblockAll()
      else throttle.unblock(group)
      if (group !== '*') shared?.forget(group)
      fastify.log.info({ address: group }, 'failed-authentication block lifted by the provider')
    },
    listening: (listening) => {
      if (cacheKeys) resolver.setCacheTrusted(listening)
      // Keys created while nobody listened are read afresh (the first time, below).
      if (listening && started) void readDirectory()
    }
  }, fastify.log)
  await listener.start()
  // After LISTEN: a key created from here on is announced, one created before is read now.
  await readDirectory()
  started = true
  fastify.addHook('onClose', async () => { await listener.close() })
  // Registered after the database plugin, so these run before the pool closes.
  fastify.addHook('onClose', async () => { await Promise.all([blocks.close(), nonces.close()]) })
  fastify.decorateRequest('client', null)
  fastify.decorateRequest('identified', null)
  fastify.decorateRequest('signedNonce', null)
}, { name: 'auth', dependencies: ['database', 'redis', 'usage', 'audit', 'metrics'] })

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

/**
 * Reachable from other machines, with X-Forwarded-For ignored: fine when
 * clients connect directly, but behind a reverse proxy or load balancer every
 * client would share the proxy's address, for allowlists and for the
 * failed-authentication throttle (one client's bad keys would block them all).
 */
function warnIfProxyUnseen (log: FastifyBaseLogger, host: string, trustProxy: string): void {
  if (LOOPBACK.has(host) || !['', 'false'].includes(trustProxy.trim().toLowerCase())) return
  log.warn({ HOST: host, TRUST_PROXY: trustProxy }, 'listening beyond loopback with TRUST_PROXY=false: if a reverse proxy or load ' +
    'balancer is in front of the service, every client shares its address (allowlists and the failed-authentication throttle ' +
    'see only the proxy); set TRUST_PROXY to the proxies\' addresses or hop count')
}
