// Webhooks: who is told when keys change, and the outbox that tells them.
//
// webhook_events is the outbox: a key change writes its event in the same
// transaction as the change (src/keys/lifecycle.ts), so an event exists if and
// only if the change committed, and a restart loses none. Each instance's
// worker fans an event out into webhook_deliveries, one row per destination
// (the provider's WEBHOOK_URLS and the client's own endpoints), and delivers
// them; rows are claimed with FOR UPDATE SKIP LOCKED, so two instances never
// send the same delivery at once.
//
// webhook_notices remembers which notices that no change triggers (a key
// about to expire, a spike of failed authentications) were sent, so that each
// goes out once however many instances look.
//
// Every primary key starts with client_id, as on every tenant table.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE webhook_endpoints (
    client_id uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    url text NOT NULL,
    events text[] NOT NULL,
    description text,
    secret text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, id)
  )`.execute(db)

  await sql`CREATE TABLE webhook_events (
    client_id uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    type text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    dispatched_at timestamptz,
    PRIMARY KEY (client_id, id)
  )`.execute(db)
  // The worker's question, "which events are not yet fanned out?", reads only these.
  await sql`CREATE INDEX webhook_events_undispatched_idx ON webhook_events (created_at) WHERE dispatched_at IS NULL`.execute(db)
  await sql`CREATE INDEX webhook_events_created_idx ON webhook_events (created_at)`.execute(db)

  await sql`CREATE TABLE webhook_deliveries (
    client_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    event_id uuid NOT NULL,
    endpoint_id uuid,
    url text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    failed_at timestamptz,
    last_status integer,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, id),
    FOREIGN KEY (client_id, event_id) REFERENCES webhook_events (client_id, id) ON DELETE CASCADE,
    FOREIGN KEY (client_id, endpoint_id) REFERENCES webhook_endpoints (client_id, id) ON DELETE CASCADE
  )`.execute(db)
  await sql`CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL`.execute(db)
  await sql`CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (client_id, endpoint_id, id)`.execute(db)
  await sql`CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (client_id, event_id)`.execute(db)

  await sql`CREATE TABLE webhook_notices (
    client_id uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    notice text NOT NULL,
    sent_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, notice)
  )`.execute(db)

  // The spike check sums the failures with a client's keys of the last few
  // minutes: without this, every check would read the whole audit trail.
  await sql`CREATE INDEX audit_events_client_failures_idx ON audit_events (occurred_at)
    WHERE client_id IS NOT NULL AND event IN ('auth.failed', 'key.expired_in_use')`.execute(db)
  // The expiry check reads the keys still in service that have an expiry.
  await sql`CREATE INDEX api_keys_expiry_idx ON api_keys (expires_at)
    WHERE expires_at IS NOT NULL AND revoked_at IS NULL AND replaced_by IS NULL`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX api_keys_expiry_idx`.execute(db)
  await sql`DROP INDEX audit_events_client_failures_idx`.execute(db)
  await sql`DROP TABLE webhook_notices`.execute(db)
  await sql`DROP TABLE webhook_deliveries`.execute(db)
  await sql`DROP TABLE webhook_events`.execute(db)
  await sql`DROP TABLE webhook_endpoints`.execute(db)
}
