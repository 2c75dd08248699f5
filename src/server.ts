// The entry point: build the app, listen, and stop cleanly on SIGINT, SIGTERM
// or SIGHUP (see shutdown.ts), a signal during the start included.
import { buildApp } from './app.ts'
import { Shutdown } from './shutdown.ts'

const shutdown = new Shutdown()

const app = await buildApp().catch((error: unknown) => {
  console.error(`central-logger did not start: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
shutdown.attach(app)

if (!shutdown.requested) {
  try {
    await app.listen({ host: app.config.HOST, port: app.config.PORT })
  } catch (error) {
    app.log.error({ err: error }, 'could not listen')
    await app.close()
    process.exit(1)
  }
}
