/**
 * The executor's tables, in the PostgreSQL schema `deputy`. Append a migration to change them;
 * never edit one that has shipped (the checksum check in lib/postgres/migrate.ts refuses that).
 *
 * Records the executor validates with zod (runs, catalog records, plan state …) are stored as
 * `json`, not `jsonb`: `json` keeps the text as written, including `\u0000` escapes that a
 * user's input or a script's output may carry and that `jsonb` rejects. Columns that queries
 * filter or order on (state, principal, seq) are plain columns beside the record.
 * See docs/store.md.
 */
import type { MigrationSet } from '../../../lib/postgres/migrate.ts';

export const EXECUTOR_SCHEMA = 'deputy';

const initial = `
-- The catalog: one row per record, replaced by diff, so a script's status change writes that script.
CREATE TABLE deputy.catalog_records (
  kind text NOT NULL,  -- the snapshot's key: tenants, principals, scripts, versions, actions, …
  id text NOT NULL,
  position integer NOT NULL,
  record json NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, id)
);
-- One row: the catalog's generation (other executors reload when it moves) and the snapshot's shape (each key: a list of rows or one value).
CREATE TABLE deputy.catalog_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  generation bigint NOT NULL,
  shape json NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO deputy.catalog_head (generation) VALUES (0);

-- Runs: the latest record of each; a state change is a compare-and-set on "state".
CREATE TABLE deputy.runs (
  id text PRIMARY KEY,
  created_seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  principal_id text NOT NULL,
  state text NOT NULL,
  record json NOT NULL,
  -- The executor that holds the run while it is queued on it or running there (leases, below).
  executor_id text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runs_by_principal ON deputy.runs (principal_id, created_seq DESC);
CREATE INDEX runs_by_state ON deputy.runs (state, created_seq DESC);
CREATE INDEX runs_unfinished ON deputy.runs (created_seq) WHERE state IN ('requested', 'awaiting-approval', 'queued', 'running');

-- A run's full output as JSON lines (text keeps \\u0000 escapes); no foreign key, output may be written before the record.
CREATE TABLE deputy.run_output (
  run_id text PRIMARY KEY,
  lines text NOT NULL,
  written_at timestamptz NOT NULL DEFAULT now()
);

-- The audit chain: each entry's canonical JSON line as written, so verification recomputes hashes from exactly what was stored.
CREATE TABLE deputy.audit (
  seq bigint PRIMARY KEY,
  line text NOT NULL,
  hash text NOT NULL,
  prev_hash text NOT NULL,
  at timestamptz NOT NULL
);
-- The chain's head, one row: appends lock it, so hosts appending at once never fork the chain.
CREATE TABLE deputy.audit_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq bigint NOT NULL,
  hash text NOT NULL
);
INSERT INTO deputy.audit_head (seq, hash) VALUES (0, repeat('0', 64));

-- Run-time state of scripting plans (enabled, revoked, how far the schedule was handled).
CREATE TABLE deputy.plan_state (
  plan_id text PRIMARY KEY,
  state json NOT NULL,
  revision bigint NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Who asked for a script's review and how it was decided.
CREATE TABLE deputy.script_reviews (
  script_id text PRIMARY KEY,
  review json NOT NULL,
  revision bigint NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Idempotency-Key records (answer null while the first request is in flight): kind 'hook' (scope: the connector)
-- and kind 'run' (POST /v1/runs; scope: principal:<id>) …
CREATE TABLE deputy.idempotency_keys (
  kind text NOT NULL,
  scope text NOT NULL,
  key text NOT NULL,
  body_hash text NOT NULL,
  answer json,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (kind, scope, key)
);
CREATE INDEX idempotency_keys_expiry ON deputy.idempotency_keys (kind, expires_at);
-- … and inbound hooks' signatures already accepted (the HMAC this executor computed), so a captured request cannot be replayed inside its window.
CREATE TABLE deputy.hook_signatures (
  connector text NOT NULL,
  digest text NOT NULL,
  idempotency_key text,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (connector, digest)
);
CREATE INDEX hook_signatures_expiry ON deputy.hook_signatures (expires_at);

-- Every message a mail connector handled, by Message-ID (entry as claimed; the run it started in run_id).
CREATE TABLE deputy.mail_messages (
  connector text NOT NULL,
  message_id text NOT NULL,
  entry json NOT NULL,
  run_id text,
  at timestamptz NOT NULL,
  PRIMARY KEY (connector, message_id)
);
CREATE INDEX mail_messages_by_run ON deputy.mail_messages (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX mail_messages_by_age ON deputy.mail_messages (at);

-- Stored credentials: AES-256-GCM ciphertext, IV and tag only; the key never reaches the database.
CREATE TABLE deputy.credentials (
  id text PRIMARY KEY,
  tenant text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('secret', 'pscredential')),
  username text,
  ciphertext text NOT NULL,
  iv text NOT NULL,
  tag text NOT NULL,
  key_id text NOT NULL,
  version integer NOT NULL CHECK (version >= 1),
  rotated_at text NOT NULL
);

-- Run and approval events for every executor's SSE stream: one global sequence, in commit order.
CREATE TABLE deputy.outbox (
  seq bigint PRIMARY KEY,
  event json NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- The last sequence number handed out, one row: publishers lock it, so numbers are given in commit order and a reader never skips one that commits late.
CREATE TABLE deputy.outbox_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq bigint NOT NULL
);
INSERT INTO deputy.outbox_head (seq) VALUES (0);

-- Leases: each executor's liveness (name 'executor:<id>') and single-owner duties ('scheduler', 'approval-expiry').
CREATE TABLE deputy.leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  acquired_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  info json NOT NULL DEFAULT '{}'
);

-- Room taken in the shared run queue (pg-boss), for the caps on queued runs in total and per principal.
CREATE TABLE deputy.queue_slots (
  run_id text PRIMARY KEY,
  principal_id text NOT NULL,
  enqueued_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX queue_slots_by_principal ON deputy.queue_slots (principal_id);
`;

/**
 * Cancels asked of a run's holder (executor/runs/cancels.ts): the NOTIFY reaches a holder that is
 * listening; this row reaches one whose listening connection was down at that moment, when it
 * comes back and reads the requests for the runs it holds.
 */
const cancelRequests = `
CREATE TABLE deputy.cancel_requests (
  run_id text PRIMARY KEY,
  executor text,
  requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cancel_requests_by_time ON deputy.cancel_requests (requested_at);
`;

/** The prune job drops outbox events by age (executor/store/prune-job.ts): without an index that reads the whole table. */
const outboxByAge = `
CREATE INDEX outbox_by_age ON deputy.outbox (created_at);
`;

/**
 * Which executor took each queued run from pg-boss (executor/queue/pg-boss.ts): one that dies
 * after taking a run and before starting it leaves its job active; the survivors give it back.
 */
const queueTaken = `
CREATE TABLE deputy.queue_taken (
  run_id text PRIMARY KEY,
  executor text NOT NULL,
  principal_id text NOT NULL,
  taken_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX queue_taken_by_executor ON deputy.queue_taken (executor);
`;

export const EXECUTOR_MIGRATIONS: MigrationSet = {
  schema: EXECUTOR_SCHEMA,
  migrations: [
    { version: 1, name: 'all executor state', sql: initial },
    { version: 2, name: 'stored cancel requests', sql: cancelRequests },
    { version: 3, name: 'outbox pruned by age', sql: outboxByAge },
    { version: 4, name: 'queued runs taken by an executor', sql: queueTaken },
  ],
};
