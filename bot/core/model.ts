/**
 * The neutral conversation model. Each platform edge (bot/teams, bot/slack, bot/webchat)
 * translates its events into `Inbound` once, and renders `Screen`s back through a
 * `ConversationPort`. Nothing here knows a platform.
 */
import type { ActionView, ChatIdentity, PrincipalView, RunView } from '../../executor/contract/index.ts';
import type { Screen, ScriptReview, SubmitVerb } from '../../cards/screens.ts';

export type { Screen };

/** Where a message lives, with what the edge needs to post there again later (also after a restart). */
export interface ConversationRef {
  channel: ChatIdentity['channel'];
  conversationId: string;
  /** Teams reply chain id / Slack thread_ts: results go into this thread. */
  threadId?: string;
  /** Platform data for proactive messages (Teams ConversationReference, Slack channel id...). JSON-serializable. */
  platform?: Record<string, unknown>;
}

export interface ChatUser {
  /** Already verified at the edge (JWT, signature, loopback persona). */
  identity: ChatIdentity;
  displayName?: string;
}

/** Verbs a card button or form submit can carry (defined with the screens). */
export type { SubmitVerb };

export type Inbound =
  | { kind: 'message'; user: ChatUser; conversation: ConversationRef; text: string }
  /** A conversation with the bot was opened (installed, started, first visit): it may greet. */
  | { kind: 'opened'; user: ChatUser; conversation: ConversationRef }
  | {
      kind: 'submit';
      user: ChatUser;
      conversation: ConversationRef;
      /** The message (card) the button was on, so it can be updated in place. */
      messageId?: string;
      verb: SubmitVerb;
      /** The card's data: `{ actionId }`, `{ actionId, values }`, `{ runId }`, `{ runId, decision, comment }`... */
      data: Record<string, unknown>;
    };

export interface FileAttachment {
  name: string;
  contentType: string;
  content: string;
}

/** Implemented by each platform edge. */
export interface ConversationPort {
  /**
   * Posts a new message (in the thread, when the ref has one); returns its id. An edge may show
   * a run's screen by updating the message that already shows that run, unless `reopen` asks
   * for a new message at the bottom (a run opened again from the history).
   */
  post(conversation: ConversationRef, screen: Screen, options?: { reopen?: boolean }): Promise<string>;
  /** Replaces an earlier message in place. */
  update(conversation: ConversationRef, messageId: string, screen: Screen): Promise<void>;
  /** Posts long output as a file (Slack upload, Teams/web chat attachment). */
  postFile(conversation: ConversationRef, file: FileAttachment): Promise<void>;
}

/**
 * What the core answers to one inbound event. `immediate` is what the platform's synchronous
 * answer shows (Teams invoke response, Slack modal / response_action): it must be ready fast.
 */
export interface HandleResult {
  immediate?: Screen;
}

/** A person's overview for a home surface (Slack App Home): what they may run, what they ran, what waits for them. */
export interface HomeOverview {
  principal: PrincipalView;
  actions: ActionView[];
  /** Their own runs, newest first. */
  recentRuns: RunView[];
  /** Runs awaiting a decision this person may make (empty for non-approvers). */
  pendingApprovals: RunView[];
  /** Scripts in Testing this person may approve (absent or empty for non-approvers). */
  pendingScripts?: ScriptReview[];
}

/** The core, as the edges see it. */
export interface ConversationHandler {
  handle(event: Inbound): Promise<HandleResult>;
  /**
   * Optional: the home overview, `undefined` for a user who is not enrolled. An edge whose
   * handler lacks it falls back to the action list from `handle`.
   */
  home?(user: ChatUser): Promise<HomeOverview | undefined>;
}

/**
 * A platform edge is a plugin: it mounts its routes on the bot's HTTP server, verifies every
 * inbound request, translates to `Inbound`, and renders through its `port`.
 */
export interface ChannelEdge {
  readonly channel: ChatIdentity['channel'];
  readonly port: ConversationPort;
  /** Mounts routes on the bot's restify server (typed loosely so the model needs no server import). */
  mount(server: unknown): void;
  close(): Promise<void>;
  /** Whether the platform is reachable now (`/readyz` reports it); absent means always. */
  health?(): EdgeHealth;
}

export interface EdgeHealth {
  ok: boolean;
  detail?: string;
}
