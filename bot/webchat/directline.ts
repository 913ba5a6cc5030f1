/**
 * The state behind the local Direct Line 3.0 endpoint: persona-bound tokens, conversations
 * and their activity logs with watermarks. Polling only (Web Chat with `webSocket: false`).
 *
 * A token is bound to one persona when the page asks for it; every activity posted with that
 * token is from that persona, whatever its `from` says. Each persona has one conversation: a
 * new token for the same persona (a reload, a switch back from another persona) continues it,
 * and Web Chat, polling from the start, shows its whole history again. Everything is in memory
 * and bounded: the web chat is a local demo, and a restart starts fresh conversations.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../lib/clock.ts';
import { ttlCache } from '../../lib/ttl-cache.ts';
import type { LRUCache } from 'lru-cache';

/** The subset of a Bot Framework activity the local web chat uses. */
export interface Activity {
  type: string;
  id: string;
  timestamp: string;
  channelId: 'webchat';
  conversation: { id: string };
  from: { id: string; name?: string; role: 'bot' | 'user' };
  text?: string;
  value?: unknown;
  attachments?: Array<{ contentType: string; content?: unknown; contentUrl?: string; name?: string }>;
  channelData?: Record<string, unknown>;
  replyToId?: string;
}

export interface DirectLineLimits {
  tokenTtlMs: number;
  maxConversations: number;
  /** Activity log entries kept per conversation; a client far behind gets the newest only. */
  maxLogEntries: number;
  maxFilesPerConversation: number;
}

export const DEFAULT_LIMITS: DirectLineLimits = {
  tokenTtlMs: 60 * 60_000,
  maxConversations: 500,
  maxLogEntries: 1000,
  maxFilesPerConversation: 50,
};

interface TokenGrant {
  persona: string;
  conversationId: string | undefined;
}

/** Tokens valid at once (a demo on loopback has a handful); the least recently used go first. */
const MAX_TOKENS = 10_000;

export interface StoredFile {
  name: string;
  contentType: string;
  content: string;
}

export interface Conversation {
  id: string;
  persona: string;
  /** Log entries: posts and re-deliveries of updated activities. Index + `offset` is the watermark. */
  log: Activity[];
  offset: number;
  /** The newest version of each activity, for updates in place. */
  latest: Map<string, Activity>;
  nextSequence: number;
  files: Map<string, StoredFile>;
  /** The page's origin (`http://127.0.0.1:3978`), from the Host its requests named: file links are absolute. */
  origin?: string;
}

const BOT = { id: 'deputy', name: 'Deputy', role: 'bot' as const };

export class DirectLineState {
  private readonly tokens: LRUCache<string, TokenGrant>;
  private readonly conversations = new Map<string, Conversation>();
  /** persona → their conversation's id. */
  private readonly byPersona = new Map<string, string>();

  constructor(
    private readonly clock: Clock,
    private readonly limits: DirectLineLimits = DEFAULT_LIMITS,
  ) {
    this.tokens = ttlCache(clock, { ttlMs: limits.tokenTtlMs, max: MAX_TOKENS });
  }

  get tokenTtlSeconds(): number {
    return Math.floor(this.limits.tokenTtlMs / 1000);
  }

  issueToken(persona: string, conversationId?: string): string {
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, { persona, conversationId });
    return token;
  }

  /** The grant behind a bearer token, if it is known and not expired. */
  grant(token: string | undefined): TokenGrant | undefined {
    if (!token) return undefined;
    return this.tokens.get(token);
  }

  /** A new token for the same persona and conversation; the old one stops working. */
  refresh(token: string): string | undefined {
    const grant = this.grant(token);
    if (!grant) return undefined;
    this.tokens.delete(token);
    return this.issueToken(grant.persona, grant.conversationId);
  }

  /**
   * The token's conversation: the one it is bound to, else the persona's own (continued), else
   * a new one. `created` says whether it is new, so the edge can greet.
   */
  startConversation(token: string): { conversation: Conversation; created: boolean } | undefined {
    const grant = this.grant(token);
    if (!grant) return undefined;
    const conversationId = grant.conversationId ?? this.byPersona.get(grant.persona);
    const existing = conversationId ? this.conversations.get(conversationId) : undefined;
    if (existing) {
      grant.conversationId = existing.id;
      return { conversation: existing, created: false };
    }
    if (this.conversations.size >= this.limits.maxConversations) {
      const oldest = this.conversations.values().next().value;
      if (oldest !== undefined) {
        this.conversations.delete(oldest.id);
        if (this.byPersona.get(oldest.persona) === oldest.id) this.byPersona.delete(oldest.persona);
      }
    }
    const conversation: Conversation = {
      id: `wc_${randomBytes(9).toString('base64url')}`,
      persona: grant.persona,
      log: [],
      offset: 0,
      latest: new Map(),
      nextSequence: 1,
      files: new Map(),
    };
    this.conversations.set(conversation.id, conversation);
    this.byPersona.set(conversation.persona, conversation.id);
    grant.conversationId = conversation.id;
    return { conversation, created: true };
  }

  /** The conversation a token may use; undefined when the token is not bound to it. */
  conversationFor(token: string | undefined, conversationId: string): Conversation | undefined {
    const grant = this.grant(token);
    if (!grant || grant.conversationId !== conversationId) return undefined;
    return this.conversations.get(conversationId);
  }

  conversation(conversationId: string): Conversation | undefined {
    return this.conversations.get(conversationId);
  }

  /** Appends the user's activity (the echo Web Chat waits for), with the persona as its sender. */
  appendFromUser(conversation: Conversation, incoming: Omit<Activity, 'id' | 'timestamp' | 'channelId' | 'conversation' | 'from'>): Activity {
    return this.append(conversation, { ...incoming, from: { id: conversation.persona, role: 'user' } });
  }

  appendFromBot(conversation: Conversation, content: Pick<Activity, 'text' | 'attachments' | 'channelData' | 'replyToId'>, id?: string): Activity {
    return this.append(conversation, { type: 'message', ...content, from: BOT }, id);
  }

  /**
   * Re-delivers an activity under its own id and first timestamp. Web Chat keys activities by
   * id and sorts them by timestamp, so the new version replaces the old one where it stood.
   */
  replace(conversation: Conversation, id: string, content: Pick<Activity, 'text' | 'attachments'>): Activity | undefined {
    const previous = conversation.latest.get(id);
    if (!previous || previous.from.role !== 'bot') return undefined;
    const next: Activity = { ...previous, text: content.text, attachments: content.attachments };
    this.record(conversation, next);
    return next;
  }

  /** Log entries after `watermark`, and the new watermark. */
  activitiesAfter(conversation: Conversation, watermark: number): { activities: Activity[]; watermark: number } {
    const start = Math.max(0, watermark - conversation.offset);
    return { activities: conversation.log.slice(start), watermark: conversation.offset + conversation.log.length };
  }

  addFile(conversation: Conversation, file: StoredFile): string {
    const id = randomBytes(16).toString('base64url');
    if (conversation.files.size >= this.limits.maxFilesPerConversation) {
      const oldest = conversation.files.keys().next().value;
      if (oldest !== undefined) conversation.files.delete(oldest);
    }
    conversation.files.set(id, file);
    return id;
  }

  private append(conversation: Conversation, partial: Omit<Activity, 'id' | 'timestamp' | 'channelId' | 'conversation'>, id?: string): Activity {
    const activity: Activity = {
      ...partial,
      id: id ?? `${conversation.id}|${String(conversation.nextSequence++).padStart(7, '0')}`,
      timestamp: new Date(this.clock.now()).toISOString(),
      channelId: 'webchat',
      conversation: { id: conversation.id },
    };
    this.record(conversation, activity);
    return activity;
  }

  private record(conversation: Conversation, activity: Activity): void {
    conversation.log.push(activity);
    conversation.latest.delete(activity.id);
    conversation.latest.set(activity.id, activity);
    if (conversation.latest.size > this.limits.maxLogEntries) {
      const oldest = conversation.latest.keys().next().value;
      if (oldest !== undefined) conversation.latest.delete(oldest);
    }
    const excess = conversation.log.length - this.limits.maxLogEntries;
    if (excess > 0) {
      conversation.log.splice(0, excess);
      conversation.offset += excess;
    }
  }

  /** Next id a bot activity will get, so its card can carry it before it is appended. */
  reserveId(conversation: Conversation): string {
    return `${conversation.id}|${String(conversation.nextSequence++).padStart(7, '0')}`;
  }
}
