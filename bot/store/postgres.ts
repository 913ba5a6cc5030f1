/**
 * The bot's conversation store on PostgreSQL, in a schema of its own, `deputy_bot`: the bot is
 * the internet-facing process, so it can run as a database role that owns this schema and has
 * no right on the executor's `deputy` schema (credentials, audit, runs). Migrated at start-up
 * under an advisory lock like the executor's (lib/postgres/migrate.ts).
 *
 * The lowdb file keeps at most a number of entries; here rows carry their last write time and
 * `prune(before)` drops the old ones.
 */
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import { migrate, type MigrationSet } from '../../lib/postgres/migrate.ts';
import { createPool, type Pool } from '../../lib/postgres/pool.ts';
import type { RunMessage } from '../core/conversation-store.ts';
import type { ConversationRef } from '../core/model.ts';
import type { SharedConversationStore } from './port.ts';

export const BOT_MIGRATIONS: MigrationSet = {
  schema: 'deputy_bot',
  migrations: [
    {
      version: 1,
      name: 'conversations, run messages and approvers',
      sql: `
CREATE TABLE deputy_bot.principals (
  principal_id text PRIMARY KEY,
  conversation json NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE deputy_bot.conversations (
  channel text NOT NULL,
  conversation_id text NOT NULL,
  conversation json NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (channel, conversation_id)
);
CREATE TABLE deputy_bot.run_messages (
  run_id text PRIMARY KEY,
  message json NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE deputy_bot.run_approvers (
  run_id text PRIMARY KEY,
  principal_ids json NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX principals_by_age ON deputy_bot.principals (updated_at);
CREATE INDEX conversations_by_age ON deputy_bot.conversations (updated_at);
CREATE INDEX run_messages_by_age ON deputy_bot.run_messages (updated_at);
CREATE INDEX run_approvers_by_age ON deputy_bot.run_approvers (updated_at);
`,
    },
    {
      version: 2,
      name: 'the event follower lease, its cursor, and cards asking to cancel',
      sql: `
CREATE TABLE deputy_bot.leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE TABLE deputy_bot.cursors (
  name text PRIMARY KEY,
  event_id text NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE deputy_bot.cancel_questions (
  message_key text PRIMARY KEY,
  updated_at timestamptz NOT NULL
);
CREATE INDEX cancel_questions_by_age ON deputy_bot.cancel_questions (updated_at);
`,
    },
  ],
};

const TABLES = ['principals', 'conversations', 'run_messages', 'run_approvers', 'cancel_questions'] as const;
/** The one lease and the one cursor the bots share. */
const EVENTS = 'executor-events';

export class PgConversations implements SharedConversationStore {
  private constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
  ) {}

  static async open(options: { url: string; clock: Clock; logger: Logger; poolSize?: number }): Promise<PgConversations> {
    const pool = createPool({ url: options.url, applicationName: 'deputy-bot', max: options.poolSize ?? 5, logger: options.logger });
    try {
      await migrate(pool, BOT_MIGRATIONS, options.logger);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PgConversations(pool, options.clock);
  }

  async rememberPrincipal(principalId: string, conversation: ConversationRef): Promise<void> {
    const now = new Date(this.clock.now());
    const text = JSON.stringify(conversation);
    // One statement, so a principal's last conversation is always one the conversations table knows.
    await this.pool.query(
      `WITH conversation AS (
         INSERT INTO deputy_bot.conversations (channel, conversation_id, conversation, updated_at) VALUES ($2, $3, $4, $5)
         ON CONFLICT (channel, conversation_id) DO UPDATE SET conversation = EXCLUDED.conversation, updated_at = EXCLUDED.updated_at
       )
       INSERT INTO deputy_bot.principals (principal_id, conversation, updated_at) VALUES ($1, $4, $5)
       ON CONFLICT (principal_id) DO UPDATE SET conversation = EXCLUDED.conversation, updated_at = EXCLUDED.updated_at`,
      [principalId, conversation.channel, conversation.conversationId, text, now],
    );
  }

  async lastConversationOf(principalId: string): Promise<ConversationRef | undefined> {
    const { rows } = await this.pool.query<{ conversation: ConversationRef }>('SELECT conversation FROM deputy_bot.principals WHERE principal_id = $1', [principalId]);
    return rows[0]?.conversation;
  }

  async conversation(channel: ConversationRef['channel'], conversationId: string): Promise<ConversationRef | undefined> {
    const { rows } = await this.pool.query<{ conversation: ConversationRef }>(
      'SELECT conversation FROM deputy_bot.conversations WHERE channel = $1 AND conversation_id = $2',
      [channel, conversationId],
    );
    return rows[0]?.conversation;
  }

  async rememberRunMessage(runId: string, message: RunMessage): Promise<void> {
    await this.pool.query(
      `INSERT INTO deputy_bot.run_messages (run_id, message, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (run_id) DO UPDATE SET message = EXCLUDED.message, updated_at = EXCLUDED.updated_at`,
      [runId, JSON.stringify(message), new Date(this.clock.now())],
    );
  }

  async runMessage(runId: string): Promise<RunMessage | undefined> {
    const { rows } = await this.pool.query<{ message: RunMessage }>('SELECT message FROM deputy_bot.run_messages WHERE run_id = $1', [runId]);
    return rows[0]?.message;
  }

  async rememberApprovers(runId: string, principalIds: string[]): Promise<void> {
    await this.pool.query(
      `INSERT INTO deputy_bot.run_approvers (run_id, principal_ids, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (run_id) DO UPDATE SET principal_ids = EXCLUDED.principal_ids, updated_at = EXCLUDED.updated_at`,
      [runId, JSON.stringify(principalIds), new Date(this.clock.now())],
    );
  }

  async approversOf(runId: string): Promise<string[] | undefined> {
    const { rows } = await this.pool.query<{ principal_ids: string[] }>('SELECT principal_ids FROM deputy_bot.run_approvers WHERE run_id = $1', [runId]);
    return rows[0]?.principal_ids;
  }

  async forgetApprovers(runId: string): Promise<void> {
    await this.pool.query('DELETE FROM deputy_bot.run_approvers WHERE run_id = $1', [runId]);
  }

  async setAskingToCancel(messageKey: string, asking: boolean): Promise<void> {
    if (asking) {
      await this.pool.query(
        `INSERT INTO deputy_bot.cancel_questions (message_key, updated_at) VALUES ($1, $2)
         ON CONFLICT (message_key) DO UPDATE SET updated_at = EXCLUDED.updated_at`,
        [messageKey, new Date(this.clock.now())],
      );
    } else {
      await this.pool.query('DELETE FROM deputy_bot.cancel_questions WHERE message_key = $1', [messageKey]);
    }
  }

  async isAskingToCancel(messageKey: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM deputy_bot.cancel_questions WHERE message_key = $1', [messageKey]);
    return (rowCount ?? 0) > 0;
  }

  /** One statement: the lease is taken when free or expired, renewed by its holder, refused otherwise. */
  async leadEvents(holder: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    const { rows } = await this.pool.query<{ holder: string }>(
      `INSERT INTO deputy_bot.leases (name, holder, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
         WHERE deputy_bot.leases.holder = EXCLUDED.holder OR deputy_bot.leases.expires_at <= $4
       RETURNING holder`,
      [EVENTS, holder, new Date(now + ttlMs), new Date(now)],
    );
    return rows[0]?.holder === holder;
  }

  async releaseEvents(holder: string): Promise<void> {
    await this.pool.query('DELETE FROM deputy_bot.leases WHERE name = $1 AND holder = $2', [EVENTS, holder]);
  }

  async eventCursor(): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ event_id: string }>('SELECT event_id FROM deputy_bot.cursors WHERE name = $1', [EVENTS]);
    return rows[0]?.event_id;
  }

  async saveEventCursor(eventId: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO deputy_bot.cursors (name, event_id, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET event_id = EXCLUDED.event_id, updated_at = EXCLUDED.updated_at`,
      [EVENTS, eventId, new Date(this.clock.now())],
    );
  }

  /** Drops everything last written before `before` (epoch ms); returns how many rows. */
  async prune(before: number): Promise<number> {
    let dropped = 0;
    for (const table of TABLES) {
      const { rowCount } = await this.pool.query(`DELETE FROM deputy_bot.${table} WHERE updated_at < $1`, [new Date(before)]);
      dropped += rowCount ?? 0;
    }
    return dropped;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
