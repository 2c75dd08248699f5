// Reading the Prometheus text of GET /metrics in tests: every sample with its
// labels, and the value of one series, so that a test can compare a scrape
// before and after what it does.
import type { FastifyInstance } from 'fastify'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

export function parseMetrics (text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = LINE.exec(line)
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, name, value] of (match[2] ?? '').matchAll(LABEL)) labels[name!] = value!
    samples.push({ name: match[1]!, labels, value: Number(match[3]) })
  }
  return samples
}

export class Scrape {
  readonly samples: Sample[]
  readonly text: string

  constructor (text: string) {
    this.text = text
    this.samples = parseMetrics(text)
  }

  /** The value of the series with exactly these labels, or undefined when there is none. */
  find (name: string, labels: Record<string, string> = {}): number | undefined {
    const wanted = Object.entries(labels)
    return this.samples.find((sample) => sample.name === name &&
      Object.keys(sample.labels).length === wanted.length &&
      wanted.every(([key, value]) => sample.labels[key] === value))?.value
  }

  /** The same, 0 for a series not there yet. */
  value (name: string, labels: Record<string, string> = {}): number {
    return this.find(name, labels) ?? 0
  }

  /** Every series of the metric. */
  series (name: string): Sample[] {
    return this.samples.filter((sample) => sample.name === name)
  }
}

export async function scrape (app: FastifyInstance, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers })
  if (res.statusCode !== 200) throw new Error(`GET /metrics answered ${res.statusCode}: ${res.body}`)
  return new Scrape(res.body)
}
