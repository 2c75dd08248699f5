// The provider's key CLI: `npm run keys -- <command>` (see src/cli/main.ts).
import { text } from 'node:stream/consumers'
import { runKeysCli } from '../src/cli/main.ts'

process.exitCode = await runKeysCli(process.argv.slice(2), {
  readStdin: async () => await text(process.stdin),
  out: (output) => { process.stdout.write(output) },
  err: (output) => { process.stderr.write(output) }
})
