// The log entries every figure of the benchmark sends or copies: ordinary
// run logs, as a scheduler would post them, and the same logs as the
// shippers send them (an OpenTelemetry exporter, a Loki client), so that
// each route is measured on the same work.
import { compressSync } from 'snappy'
import { encodePushRequest } from '../../src/loki/proto.ts'
import { encodeRequest } from '../../src/otlp/proto.ts'

export function entries (count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => ({
    environment: 'production',
    executed_at: new Date(Date.UTC(2026, 10, 26, 10, 0, 0, i)).toISOString(),
    status: i % 10 === 0 ? 'FAILURE' : 'SUCCESS',
    level: 'info',
    workflow_id: `wf-${i % 20}`,
    run_id: `run-${i}`,
    message: `step ${i} finished after processing 1200 rows`,
    duration_ms: i * 3
  }))
}

/** The request body: one entry as an object, more as an array. */
export function body (count: number): string {
  return count === 1 ? JSON.stringify(entries(1)[0]) : JSON.stringify(entries(count))
}

/** How a figure's logs are sent: to the native route, or as a shipper sends them. */
export type Encoding = 'native' | 'otlp-protobuf' | 'loki-protobuf'

export interface Payload {
  body: Buffer
  contentType: string
}

const NANOS_PER_MS = 1_000_000n

/**
 * The entries as the body of a request in `encoding`: for the shippers, each
 * entry's fields where the shipper carries them (resource, attributes,
 * labels, structured metadata), so that they are stored as the same logs.
 */
export function payload (encoding: Encoding, count: number): Payload {
  const logs = entries(count)
  if (encoding === 'native') return { body: Buffer.from(body(count)), contentType: 'application/json' }
  if (encoding === 'otlp-protobuf') {
    const text = (key: string, value: unknown): Record<string, unknown> => ({ key, value: { stringValue: String(value) } })
    const request = {
      resourceLogs: [{
        resource: { attributes: [text('deployment.environment.name', 'production'), text('service.name', 'bench')] },
        scopeLogs: [{
          logRecords: logs.map((log) => ({
            timeUnixNano: String(BigInt(Date.parse(log.executed_at as string)) * NANOS_PER_MS),
            severityNumber: 9,
            body: { stringValue: log.message },
            attributes: [text('status', log.status), text('workflow_id', log.workflow_id), text('run_id', log.run_id),
              { key: 'duration_ms', value: { intValue: String(log.duration_ms) } }]
          }))
        }]
      }]
    }
    return { body: encodeRequest(request), contentType: 'application/x-protobuf' }
  }
  const push = encodePushRequest({
    streams: [{
      labels: '{environment="production", job="bench", level="info"}',
      entries: logs.map((log) => {
        const time = Date.parse(log.executed_at as string)
        return {
          timestamp: { seconds: String(Math.floor(time / 1000)), nanos: (time % 1000) * 1_000_000 },
          line: log.message as string,
          structuredMetadata: ['status', 'workflow_id', 'run_id', 'duration_ms'].map((name) => ({ name, value: String(log[name]) }))
        }
      })
    }]
  })
  // Snappy's block format, as Promtail, Grafana Alloy and winston-loki compress a push.
  return { body: compressSync(push), contentType: 'application/x-protobuf' }
}
