// What a log shipped through a shipper route (OTLP, Loki, Elasticsearch) gets
// for environment and status when neither it nor its client's defaults say:
// shippers rarely send either, and a log is not refused for it there (the
// native route, whose contract requires both, refuses instead). Filter on them
// as on any value (?environment=default, ?status=UNKNOWN).
export const FALLBACK_ENVIRONMENT = 'default'
export const FALLBACK_STATUS = 'UNKNOWN'
