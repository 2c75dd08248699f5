// The logs the query benchmark searches: one INSERT … SELECT generate_series
// writes a slice of two tenants' logs, interleaved in time as two tenants
// writing at once would leave them on disk. Messages read like a scheduler's
// run logs (step counts, host names, request ids, paths, German and Japanese
// text), so that the searches the benchmark times mean what they say:
// - RARE_PHRASE is in 5 logs of each tenant, whatever its size, while its
//   first word is common ("checksum verified" is in 8% of the logs);
// - ABSENT_WORD is in none;
// - COMMON_WORD is in about 3 logs in 10.
// Statuses: 3% FAILURE (logged at error), 5% SKIPPED, the rest SUCCESS.
// executed_at is to the millisecond, as the service stores it (a cursor
// carries milliseconds: finer times would repeat a row across pages). Each
// log's id is a UUIDv7 of its executed_at, as the service makes them, so id
// order follows time; size_bytes is what the service would count for it
// (src/logs/entry-size.ts), attributes included as the JSON text sent.
import { sql, type RawBuilder } from 'kysely'

export const RARE_PHRASE = 'checksum mismatch'
export const ABSENT_WORD = 'zebrafish'
export const COMMON_WORD = 'finished'

/** The tenants' logs span the 30 days before the end time. */
export const SPAN_DAYS = 30

/** Workflows wf-0 … wf-99; 5% of the logs have none. */
export const WORKFLOWS = 100

export interface Slice {
  /** The two tenants, and the key each tenant's logs are written with. */
  clientIds: [string, string]
  keyIds: [string, string]
  /** Logs per tenant in all: the i-th log of a tenant is at end − SPAN_DAYS + (i − 1/2 ± 1/4) × SPAN_DAYS / perTenant. */
  perTenant: number
  end: Date
  /** This slice: positions first … last of each tenant. */
  first: number
  last: number
}

/** The statement that stores one slice, 2 × (last − first + 1) logs. */
export function insertSlice (slice: Slice): RawBuilder<unknown> {
  const { clientIds, keyIds, perTenant, end, first, last } = slice
  // Random draws in a subquery of their own (kept apart by OFFSET 0), so that
  // each is drawn once per row and the expressions above see the same value.
  const drawn = sql`
    select g, k, client_id, key_id,
      -- To the millisecond, as the service stores an executed_at (and as a cursor carries it).
      date_trunc('milliseconds', ${end}::timestamptz - ${sql.lit(`${SPAN_DAYS} days`)}::interval
        + ((g - 1 + k * 0.5 + random() * 0.5)::float8) * (${sql.lit(`${SPAN_DAYS} days`)}::interval / ${perTenant}::int)) as executed_at,
      random() as r_env, random() as r_status, random() as r_level, floor(random() * 100)::int as r_msg, random() as r_wf,
      floor(random() * 10000)::int as n4, floor(random() * 100000)::int as n5,
      md5(random()::text) as hex,
      'worker-' || floor(random() * 40)::int || '.internal' as host
    from generate_series(${first}::int, ${last}::int) as g
    cross join unnest(${clientIds}::uuid[], ${keyIds}::uuid[], array[0, 1]) as tenant (client_id, key_id, k)
    offset 0`
  const shaped = sql`
    select client_id, key_id, executed_at,
      lpad(to_hex(floor(extract(epoch from executed_at) * 1000)::bigint), 12, '0') as ms_hex,
      case when r_env < 0.7 then 'production' when r_env < 0.9 then 'staging' else 'development' end as environment,
      case when r_status < 0.03 then 'FAILURE' when r_status < 0.08 then 'SKIPPED' else 'SUCCESS' end as status,
      case when r_status < 0.03 then 'error' when r_level < 0.1 then 'debug' when r_level < 0.15 then 'warn' else 'info' end as level,
      case
        when g % greatest(${perTenant}::int / 5, 1) = 1
          then ${RARE_PHRASE}::text || ' in /srv/import/batch-' || g || '.xml: expected ' || left(hex, 8) || ', got ' || substr(hex, 9, 8)
        when r_status < 0.03 then 'step ' || (g % 25) || '/25 failed after ' || n4 || ' ms on ' || host || ': connection reset by peer'
        when r_msg < 30 then 'step ' || (g % 25) || '/25 ' || ${COMMON_WORD}::text || ' in ' || n4 || ' ms on ' || host
        when r_msg < 42 then 'request ' || left(hex, 16) || ' GET /api/v2/orders/' || n5 || ' answered 200 in ' || (n4 % 300) || ' ms'
        when r_msg < 50 then 'connected to db-' || (n4 % 12) || '.internal:5432 after ' || (n4 % 90) || ' ms (pool ' || (n4 % 20) || '/20)'
        when r_msg < 56 then 'exported report ' || left(hex, 6) || ' to /data/exports/'
          || to_char(executed_at at time zone 'UTC', 'YYYY-MM-DD') || '/report-' || n5 || '.csv (' || n4 || ' KB)'
        when r_msg < 62 then 'Überweisung ' || n5 || ' an Lieferant Müller & Söhne GmbH verbucht ('
          || n4 || ',' || lpad((n5 % 100)::text, 2, '0') || ' €)'
        when r_msg < 68 then 'retrying upload of /var/spool/jobs/' || left(hex, 12) || '.tar.gz after timeout (attempt ' || (1 + n4 % 5) || ' of 5)'
        when r_msg < 74 then 'cache warmed: ' || n5 || ' keys loaded from redis-' || (n4 % 4) || '.internal in ' || (n4 % 500) || ' ms'
        when r_msg < 78 then 'ジョブ ' || n5 || ' の処理が完了しました（' || (n4 % 60) || ' 秒）'
        when r_msg < 82 then 'waiting for lock on table orders held by pid ' || (1000 + n5 % 60000)
        when r_msg < 86 then 'disk usage on /var/lib/postgresql at ' || (40 + n4 % 60) || '% on ' || host
        when r_msg < 94 then 'checksum verified for /srv/import/batch-' || n5 || '.xml (sha256 ' || left(hex, 12) || '…)'
        else 'job ' || n5 || ' queued by scheduler for wf-' || (n5 % ${WORKFLOWS}::int)
      end as message,
      case when r_wf < 0.95 then 'wf-' || (n5 % ${WORKFLOWS}::int) end as workflow_id,
      case when r_wf < 0.95 then 'nightly import ' || (n5 % ${WORKFLOWS}::int) end as workflow_name,
      'run-' || k || '-' || (g / 25) as run_id,
      'step-' || (g % 25) as step,
      n4::float8 as duration_ms,
      case when r_level < 0.5 then hex end as trace_id,
      case when r_wf < 0.4 then '{"host":"' || host || '","attempt":' || (1 + n4 % 3) || '}' end as attributes,
      executed_at + (n4 % 500) * interval '1 millisecond' as received_at
    from (${drawn}) as drawn`
  return sql`
    insert into logs (client_id, key_id, id, environment, executed_at, status, level, message, workflow_id, workflow_name,
      run_id, step, duration_ms, trace_id, attributes, received_at, size_bytes)
    select client_id, key_id,
      -- A version 4 UUID's random bits under the executed_at's milliseconds and version 7.
      (substr(ms_hex, 1, 8) || '-' || substr(ms_hex, 9, 4) || '-7' || substr(gen_random_uuid()::text, 16))::uuid,
      environment, executed_at, status, level, message, workflow_id, workflow_name, run_id, step, duration_ms, trace_id,
      attributes::jsonb, received_at,
      octet_length(environment) + octet_length(status) + octet_length(level) + octet_length(message)
        + coalesce(octet_length(workflow_id), 0) + coalesce(octet_length(workflow_name), 0) + coalesce(octet_length(run_id), 0)
        + coalesce(octet_length(step), 0) + coalesce(octet_length(trace_id), 0) + coalesce(octet_length(attributes), 0)
    from (${shaped}) as shaped`
}
