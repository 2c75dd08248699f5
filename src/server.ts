// The entry point: build the app, listen, and on SIGTERM/SIGINT stop taking
// requests, drain the ones in flight, close the database, exit 0.
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.ts'

const app = await buildApp().catch((error: unknown) => {
  console.error(`central-logger did not start: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
  else app.log.info({ signal }, 'shutting down')
  await app.close()
})

try {
  await app.listen({ host: app.config.HOST, port: app.config.PORT })
} catch (error) {
  app.log.error({ err: error }, 'could not listen')
  await app.close()
  process.exit(1)
}
