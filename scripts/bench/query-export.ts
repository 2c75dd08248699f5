// The export's reader, run as a process of its own: it reads one
// GET /api/v1/logs/export to its end as fast as it can, counting the lines
// (one log each), and prints one JSON line (an ExportResult) on stdout.
// Settings come as JSON in BENCH_QUERY_EXPORT (an ExportSettings).
import { request } from 'node:http'

export interface ExportSettings {
  url: string
  apiKey: string
}

export interface ExportResult {
  logs: number
  bytes: number
  /** From the request sent to the answer's last byte. */
  seconds: number
}

const settings = JSON.parse(process.env.BENCH_QUERY_EXPORT ?? '') as ExportSettings
const NEWLINE = 0x0a

const started = performance.now()
const result = await new Promise<ExportResult>((resolve, reject) => {
  request(settings.url, { headers: { 'x-api-key': settings.apiKey } }, (answer) => {
    let logs = 0
    let bytes = 0
    let text = ''
    answer.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, at + 1)) logs++
      if (answer.statusCode !== 200 && text.length < 500) text += chunk.toString('utf8')
    })
    // A transfer cut short (a failed page) ends in 'aborted' and an error, never in 'end'.
    answer.once('error', reject)
    answer.once('end', () => {
      if (answer.statusCode !== 200) reject(new Error(`the export was answered ${answer.statusCode}: ${text.slice(0, 500)}`))
      else resolve({ logs, bytes, seconds: (performance.now() - started) / 1000 })
    })
  }).once('error', reject).end()
})
process.stdout.write(`${JSON.stringify(result)}\n`)
