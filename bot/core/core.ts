/**
 * The bot core: one conversation flow for every platform. It resolves who speaks, asks the
 * executor (which decides everything again) and answers each event with one screen at once:
 * typed text through bot/core/understand.ts, each card verb through its entry in the verb
 * switch below. What a screen looks like is bot/core/presenter.ts; following runs through the
 * executor's events (cards updated in place, notifications) is bot/core/run-follower.ts.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import {
  DeputyError,
  ERRORS,
  isDeputyError,
  isFinalRunState,
  MASK,
  TARGET_FIELD,
  type ActionView,
  type Channel,
  type Choice,
  type ChatIdentity,
  type PrincipalView,
  type RunView,
  type ScriptStatus,
} from '../../executor/contract/index.ts';
import type { SubmitVerb } from '../../cards/screens.ts';
import { readEveryFormValue, readFormValues } from '../../cards/form.ts';
import { normalizeFormValues, valuesToKeep } from '../../cards/form-values.ts';
import type { Clock } from '../../lib/clock.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import type { Logger } from '../../lib/logger.ts';
import { AuthoringChat, isAuthoringVerb, parseAuthoringCommand, type AuthoringVerb } from './authoring.ts';
import { parseData } from './card-data.ts';
import type { SharedConversationStore } from '../store/port.ts';
import type { EventSubscription, ExecutorApi } from './executor-api.ts';
import { outputFile } from './output-file.ts';
import { localizeAction } from './localize.ts';
import { ttlCache } from '../../lib/ttl-cache.ts';
import type { LRUCache } from 'lru-cache';
import { explainRefusal } from './refusals.ts';
import { parseCommand, suggestActions } from './understand.ts';
import {
  approvalListScreen,
  confirmCancelScreen,
  labelsOf,
  runListScreen,
  screenFor,
  scriptListScreen,
  scriptScreen,
  toScriptReview,
  welcomeScreen,
} from './presenter.ts';
import { messageKey, reviewCardKey, RunFollower } from './run-follower.ts';
import type {
  ChatUser,
  ChoiceRequest,
  ConversationHandler,
  ConversationPort,
  ConversationRef,
  HandleResult,
  HomeOverview,
  Inbound,
  Screen,
} from './model.ts';

const OpenFormData = z.object({
  actionId: z.string().min(1).max(200),
  fromRunId: z.string().min(1).max(200).optional(),
  /** Values taken from typed text ("reset password for bob"), by parameter name. */
  prefill: z.record(z.string(), z.string().max(200)).optional(),
});
/** A form card's id, sent as the run's `Idempotency-Key`: printable ASCII, like the key itself. */
const FormIdSchema = z.string().regex(/^[\x21-\x7e]{8,100}$/);
/**
 * `values` keyed by parameter name (edges that build their own forms), or, when absent, the
 * card's own inputs merged into the data as Adaptive Cards do (read back by cards/form.ts).
 * `formId` is the pressed card's own id (absent on cards rendered before it existed).
 */
const SubmitFormData = z.object({
  actionId: z.string().min(1).max(200),
  formId: FormIdSchema.optional(),
  values: z.record(z.string(), z.unknown()).optional(),
  /** The parameter set whose Run button was pressed, on a form with several. */
  parameterSet: z.string().min(1).max(200).optional(),
});
const RunData = z.object({ runId: z.string().min(1).max(200) });
/** Cancel asks once: the first press shows "really?", the second carries `confirmed`. */
const CancelData = RunData.extend({ confirmed: z.boolean().optional() });
const DecideData = RunData.extend({ decision: z.enum(['approve', 'reject']), comment: z.string().max(2000).optional() });
const ScriptStatusData = z.enum(['draft', 'testing', 'approved']);
const ShowScriptsData = z.object({ status: ScriptStatusData.optional() });
const ScriptData = z.object({ scriptId: z.string().min(1).max(200) });
const ScriptVersionData = ScriptData.extend({ versionHash: z.string().regex(/^[0-9a-f]{64}$/) });
const DecideScriptData = ScriptVersionData.extend({ decision: z.enum(['approve', 'reject']), comment: z.string().max(2000).optional() });
const MoveScriptData = ScriptVersionData.extend({ from: ScriptStatusData, to: ScriptStatusData });

export interface BotCoreOptions {
  executor: ExecutorApi;
  logger: Logger;
  clock: Clock;
  conversations: SharedConversationStore;
  /** The edges' ports; more can be attached later with `attach`. */
  edges?: Iterable<{ channel: Channel; port: ConversationPort }>;
  /** Back-off of the event stream's reconnects (tests shorten it). */
  eventBackoffMs?: { initial: number; max: number };
  /**
   * How long a resolved chat identity is reused without asking the executor again. Safe to
   * cache: the executor re-checks the principal and the policy on every request made for them.
   */
  identityCacheMs?: number;
  /**
   * How long the actions a principal was last shown are reused to read a submitted form (the
   * form card was drawn from them). A submit then costs the executor one request, the run
   * itself, however busy it is. Safe: the executor validates the inputs and decides the policy
   * again on every run.
   */
  actionCacheMs?: number;
  /**
   * How long an executor event (a card update, a notification) waits at most while answers
   * are being prepared: they go first (default 2 s).
   */
  maxUpdateDelayMs?: number;
  /** This bot's name on the lease for following the executor's events (default: host, pid and a random part). */
  botId?: string;
  /** The lease on following events: how long it lasts unrenewed, and how often it is renewed (or sought). */
  eventLease?: { ttlMs: number; renewMs: number };
}

/** Principals (and their action lists) remembered at once; the least recently used go first. */
const MAX_CACHED_PRINCIPALS = 10_000;
const DEFAULT_IDENTITY_CACHE_MS = 30_000;
const DEFAULT_ACTION_CACHE_MS = 10 * 60_000;
const MAX_UPDATE_DELAY_MS = 2000;

/** One bot follows the executor's events at a time; another takes over this long after it stops renewing. */
const EVENT_LEASE = { ttlMs: 15_000, renewMs: 5_000 };
/** How often the bot that follows the events prunes a store that keeps entries by age, and what it keeps. */
const STORE_PRUNE_INTERVAL_MS = 60 * 60_000;
const STORE_RETENTION_MS = 90 * 24 * 60 * 60_000;

/** What one card button does, for the person who pressed it. */
type VerbHandler = (event: Extract<Inbound, { kind: 'submit' }>, principal: PrincipalView, correlationId: string) => Promise<Screen | undefined>;

interface Busy {
  count: number;
  done: Promise<void>;
  release: () => void;
}

export class BotCore implements ConversationHandler {
  private readonly ports = new Map<Channel, ConversationPort>();
  private readonly principals: LRUCache<string, PrincipalView>;
  /** Each principal's actions as last fetched, by principal id (see `actionCacheMs`). */
  private readonly actionsShown: LRUCache<string, ActionView[]>;
  private readonly background = new Set<Promise<void>>();
  /** Conversations with an event being answered: run updates there wait until the answer is shown. */
  private readonly busy = new Map<string, Busy>();
  /** Called when no conversation is busy any more (see answersFirst). */
  private readonly whenQuiet = new Set<() => void>();
  /** When this bot last pruned the conversation store (only the bot following the events does). */
  private lastPruneAt: number | undefined;
  private events: EventSubscription | undefined;
  private readonly botId: string;
  /** Lease checks one after another: whether to follow the events, or to stop. */
  private contention: Promise<void> = Promise.resolve();
  private leaseTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The newest event id not yet kept in the store, and the write keeping it (one at a time). */
  private cursorToSave: string | undefined;
  private cursorSaving: Promise<void> | undefined;
  private readonly log: Logger;

  private readonly follower: RunFollower;
  /** Files sent to the bot, clones and plans (bot/core/authoring.ts). */
  private readonly authoring: AuthoringChat;

  constructor(private readonly options: BotCoreOptions) {
    this.log = options.logger.child({ component: 'bot-core' });
    this.principals = ttlCache(options.clock, { ttlMs: options.identityCacheMs ?? DEFAULT_IDENTITY_CACHE_MS, max: MAX_CACHED_PRINCIPALS });
    this.actionsShown = ttlCache(options.clock, { ttlMs: options.actionCacheMs ?? DEFAULT_ACTION_CACHE_MS, max: MAX_CACHED_PRINCIPALS });
    this.botId = options.botId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.authoring = new AuthoringChat({ executor: options.executor, scriptScreen });
    for (const edge of options.edges ?? []) this.attach(edge);
    this.follower = new RunFollower({
      executor: options.executor,
      conversations: options.conversations,
      log: this.log,
      portOf: (channel) => this.ports.get(channel),
      answered: async (channel, conversationId) => this.busy.get(busyKey(channel, conversationId))?.done,
      answersFirst: () => this.answersFirst(),
      defer: (task) => this.defer(task),
      postOutput: (conversation, run, viewer, correlationId) => this.postOutput(conversation, run, viewer, correlationId),
      postHtml: (conversation, run, viewer, correlationId) => this.postHtml(conversation, run, viewer, correlationId),
      labelsOf: (run, correlationId) => this.labelsOf(run, correlationId),
    });
  }

  attach(edge: { channel: Channel; port: ConversationPort }): void {
    this.ports.set(edge.channel, edge.port);
  }

  /**
   * Starts following the executor's events when this bot holds the lease on them (always, with
   * the conversation file; with PostgreSQL, one bot of several at a time), and keeps checking
   * the lease. Resolves once the stream is connected, or once it is known another bot follows.
   */
  async start(): Promise<void> {
    if (!this.leaseTimer && !this.stopped) {
      this.leaseTimer = setInterval(() => void this.contend(), (this.options.eventLease ?? EVENT_LEASE).renewMs);
      this.leaseTimer.unref();
    }
    await this.contend();
    await this.events?.connected();
  }

  /** Whether this bot follows the executor's events now. */
  get followsEvents(): boolean {
    return this.events !== undefined;
  }

  /** Takes or renews the lease, and follows the events while it is held (from where the last follower stopped). */
  private contend(): Promise<void> {
    this.contention = this.contention.then(async () => {
      if (this.stopped) return;
      const { conversations, executor } = this.options;
      let leading: boolean;
      try {
        leading = await conversations.leadEvents(this.botId, (this.options.eventLease ?? EVENT_LEASE).ttlMs);
      } catch (error) {
        // Unable to renew, another bot may take over meanwhile: better no update than every update twice.
        this.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'cannot reach the conversation store to hold the event lease');
        leading = false;
      }
      if (leading && !this.events) {
        const lastEventId = await conversations.eventCursor();
        this.log.info({ bot: this.botId, lastEventId }, 'following the executor\'s events');
        this.events = executor.subscribe((event) => this.follower.onEvent(event), {
          logger: this.log,
          ...(this.options.eventBackoffMs ? { backoffMs: this.options.eventBackoffMs } : {}),
          ...(lastEventId !== undefined ? { lastEventId } : {}),
          onEventId: (eventId) => this.keepCursor(eventId),
        });
      }
      if (leading) this.pruneStore();
      if (!leading && this.events) {
        this.log.info({ bot: this.botId }, 'another bot follows the executor\'s events now');
        const following = this.events;
        this.events = undefined;
        await following.close();
      }
    });
    return this.contention;
  }

  /**
   * A store that keeps entries by age (PostgreSQL) would otherwise keep every run's card and
   * everyone's conversation forever; one bot of several (the one following the events) prunes it,
   * hourly, of what was last written more than 90 days ago.
   */
  private pruneStore(): void {
    const { conversations, clock } = this.options;
    const now = clock.now();
    if (!conversations.prune || (this.lastPruneAt !== undefined && now - this.lastPruneAt < STORE_PRUNE_INTERVAL_MS)) return;
    this.lastPruneAt = now;
    this.defer(async () => {
      const dropped = (await conversations.prune?.(now - STORE_RETENTION_MS)) ?? 0;
      if (dropped > 0) this.log.info({ dropped }, 'pruned conversation store entries last written over 90 days ago');
    });
  }

  /** Keeps the newest event id in the store; writes are not queued up, the latest one wins. */
  private keepCursor(eventId: string): void {
    this.cursorToSave = eventId;
    this.cursorSaving ??= (async () => {
      for (let next = this.cursorToSave; next !== undefined; next = this.cursorToSave) {
        this.cursorToSave = undefined;
        await this.options.conversations.saveEventCursor(next).catch((error: unknown) => this.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'cannot keep the event cursor'));
      }
      this.cursorSaving = undefined;
    })();
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.leaseTimer);
    await this.contention;
    await this.events?.close();
    const followed = this.events !== undefined;
    this.events = undefined;
    await this.idle();
    await this.cursorSaving;
    // Handed over at once: the next bot need not wait for the lease to expire.
    if (followed) await this.options.conversations.releaseEvents(this.botId).catch(() => undefined);
  }

  /** Resolves when no background work (updates, notifications, files) is left. */
  async idle(): Promise<void> {
    do {
      await this.follower.idle();
      await Promise.allSettled([...this.background]);
    } while (this.background.size > 0);
  }

  // ------------------------------------------------------------------ inbound

  async handle(event: Inbound): Promise<HandleResult> {
    const correlationId = newCorrelationId();
    const log = this.log.child({ correlationId, channel: event.conversation.channel, kind: event.kind, verb: event.kind === 'submit' ? event.verb : undefined });
    const started = this.options.clock.now();
    const release = this.markBusy(event.conversation);
    try {
      let principal: PrincipalView;
      try {
        principal = await this.resolvePrincipal(event.user.identity, correlationId);
      } catch (error) {
        if (isDeputyError(error) && error.code === 'DEPUTY_E_NOT_ENROLLED') {
          log.info('chat user is not enrolled');
          // Opening a chat is no request: a stranger is told once, when they say something.
          return event.kind === 'opened' ? {} : { immediate: { screen: 'notice', text: ERRORS.DEPUTY_E_NOT_ENROLLED.message } };
        }
        throw error;
      }
      // A conversation seen before is not greeted again (a reload, a reinstall, a second visit).
      const isNew = (await this.options.conversations.conversation(event.conversation.channel, event.conversation.conversationId)) === undefined;
      this.defer(() => this.options.conversations.rememberPrincipal(principal.id, event.conversation));
      if (event.kind === 'opened') return isNew ? { immediate: await this.welcome(principal, correlationId) } : {};
      const immediate = await this.answer(event, principal, correlationId);
      log.debug({ principal: principal.id, ms: this.options.clock.now() - started }, 'answered');
      return immediate === undefined ? {} : { immediate };
    } catch (error) {
      return { immediate: this.errorScreen(error, correlationId, log, event.kind === 'submit' ? event.verb : undefined) };
    } finally {
      release();
    }
  }

  /** Known identities only are kept, so a newly enrolled user is recognised at once. */
  private async resolvePrincipal(identity: ChatIdentity, correlationId: string): Promise<PrincipalView> {
    const key = JSON.stringify(identity);
    const cached = this.principals.get(key);
    if (cached) return cached;
    const principal = await this.options.executor.resolveIdentity(identity, { correlationId });
    this.principals.set(key, principal);
    return principal;
  }

  async home(user: ChatUser): Promise<HomeOverview | undefined> {
    const correlationId = newCorrelationId();
    const { executor } = this.options;
    let principal: PrincipalView;
    try {
      principal = await this.resolvePrincipal(user.identity, correlationId);
    } catch (error) {
      if (isDeputyError(error) && error.code === 'DEPUTY_E_NOT_ENROLLED') return undefined;
      throw error;
    }
    // What waits for this person is the executor's answer: it applies the same policy as a decision.
    const [actions, recentRuns, approvals] = await Promise.all([
      this.actionsOf(principal.id, correlationId),
      executor.listRuns({ principal: principal.id, limit: 10 }, { correlationId }),
      executor.listApprovals(principal.id, { correlationId }),
    ]);
    return { principal, actions, recentRuns, pendingApprovals: approvals.runs.slice(0, 20), pendingScripts: approvals.scripts.map(toScriptReview) };
  }

  private async answer(event: Exclude<Inbound, { kind: 'opened' }>, principal: PrincipalView, correlationId: string): Promise<Screen | undefined> {
    const { executor } = this.options;
    const call = { correlationId, principal: principal.id };
    if (event.kind === 'file') return this.authoring.file(event, principal, correlationId);
    if (event.kind === 'message') {
      const authoring = parseAuthoringCommand(event.text);
      if (authoring) return this.authoring.command(authoring, principal, correlationId);
      const command = parseCommand(event.text);
      switch (command.kind) {
        case 'scripts':
          return this.scriptList(principal, command.status, correlationId);
        case 'script':
          return scriptScreen(await executor.getScript(command.scriptId, principal.id, call));
        case 'approvals':
          return this.approvalList(principal, correlationId);
        case 'runs':
          return this.runList(principal, correlationId);
        case 'actions':
          return this.actionList(principal, correlationId);
        case 'unknown':
          return this.suggestions(principal, command.text, correlationId);
      }
    }
    if (isAuthoringVerb(event.verb)) return this.authoring.submit(event, event.verb, principal, correlationId);
    // The edges accept only known verbs; the core checks again, and never reaches the prototype.
    if (!Object.hasOwn(this.verbs, event.verb)) throw new DeputyError('DEPUTY_E_BAD_REQUEST', { detail: `unknown verb ${String(event.verb)}` });
    return this.verbs[event.verb](event, principal, correlationId);
  }

  /** What each button of a card does (authoring's buttons are AuthoringChat's). */
  private readonly verbs: { [V in Exclude<SubmitVerb, AuthoringVerb>]: VerbHandler } = {
    'show-actions': (_event, principal, correlationId) => this.actionList(principal, correlationId),
    'show-runs': (_event, principal, correlationId) => this.runList(principal, correlationId),
    'open-form': async (event, principal, correlationId) => {
      const { executor } = this.options;
      const call = { correlationId, principal: principal.id };
      const { actionId, fromRunId, prefill } = parseData(OpenFormData, event.data);
      const action = await this.findAction(principal, actionId, correlationId);
      const formId = newFormId();
      if (fromRunId === undefined) {
        return this.formScreen(principal, action, formId, { ...(prefill ? { values: valuesToKeep(action.form, prefill) } : {}), locale: event.user.locale }, correlationId);
      }
      // "Run again": the earlier run's inputs as the prefill; masked secrets are never prefilled.
      const earlier = await executor.getRun(fromRunId, call);
      const values: Record<string, unknown> = Object.fromEntries(Object.entries(earlier.inputs).filter(([, value]) => value !== MASK));
      const targets = earlier.targets?.map((target) => target.id) ?? [];
      if (targets.length > 0) values[TARGET_FIELD] = targets.length === 1 ? targets[0] : targets;
      const again = earlier.actionId === action.id;
      return this.formScreen(
        principal,
        action,
        formId,
        { values: again ? valuesToKeep(action.form, values) : {}, ...(again && earlier.parameterSet ? { parameterSet: earlier.parameterSet } : {}), locale: event.user.locale },
        correlationId,
      );
    },
    'submit-form': (event, principal, correlationId) => this.submitForm(event, principal, parseData(SubmitFormData, event.data), correlationId),
    'update-form': async (event, principal, correlationId) => {
      // The form again with the values given so far, and choices that depend on them asked for anew.
      const data = parseData(SubmitFormData, event.data);
      const action = await this.findAction(principal, data.actionId, correlationId);
      const values = data.values === undefined ? readEveryFormValue(action.form, event.data) : normalizeFormValues(action.form, data.values);
      // Still the same form: its id stays, so a Run pressed on either card is one request.
      const formId = data.formId ?? newFormId();
      return this.formScreen(principal, action, formId, { values: valuesToKeep(action.form, values), ...(data.parameterSet ? { parameterSet: data.parameterSet } : {}), locale: event.user.locale }, correlationId);
    },
    'cancel-run': async (event, principal, correlationId) => {
      const { executor } = this.options;
      const call = { correlationId, principal: principal.id };
      const { runId, confirmed } = parseData(CancelData, event.data);
      const asking = event.messageId === undefined ? undefined : messageKey(event.conversation.channel, event.conversation.conversationId, event.messageId);
      if (!confirmed) {
        // The first press only asks; nothing is cancelled by a press that landed where Run was.
        const run = await executor.getRun(runId, call);
        if (isFinalRunState(run.state)) return screenFor(run, principal.id);
        // Kept in the store: a run update that arrives meanwhile (through any bot) keeps the question on the card.
        if (asking) await this.options.conversations.setAskingToCancel(asking, true);
        return confirmCancelScreen(run, principal.id);
      }
      if (asking) await this.options.conversations.setAskingToCancel(asking, false);
      await executor.cancelRun(runId, principal.id, call);
      return screenFor(await executor.getRun(runId, call), principal.id);
    },
    'refresh-run': async (event, principal, correlationId) => {
      const { executor } = this.options;
      const call = { correlationId, principal: principal.id };
      const { runId } = parseData(RunData, event.data);
      // "Keep it running" (or any refresh) answers the question.
      if (event.messageId !== undefined) await this.options.conversations.setAskingToCancel(messageKey(event.conversation.channel, event.conversation.conversationId, event.messageId), false);
      return this.personalScreen(await executor.getRun(runId, call), principal, correlationId);
    },
    'show-run': async (event, principal, correlationId) => {
      const { executor } = this.options;
      const call = { correlationId, principal: principal.id };
      // A run opened from the history comes as a new message, so the list stays where it is.
      const { runId } = parseData(RunData, event.data);
      const run = await executor.getRun(runId, call);
      const screen = await this.personalScreen(run, principal, correlationId);
      this.defer(async () => {
        const posted = await this.port(event.conversation.channel).post(event.conversation, screen, { reopen: true });
        if (!isFinalRunState(run.state)) {
          await this.options.conversations.rememberRunMessage(run.id, { channel: event.conversation.channel, conversationId: event.conversation.conversationId, messageId: posted, viewer: principal.id });
        }
      });
      return undefined;
    },
    'show-output': async (event, principal, correlationId) => {
      const { executor } = this.options;
      const call = { correlationId, principal: principal.id };
      const { runId } = parseData(RunData, event.data);
      const run = await executor.getRun(runId, call);
      // The file is not needed for the answer: post it after answering.
      this.defer(() => this.postOutput(event.conversation, run, principal.id, correlationId));
      return screenFor(run, principal.id);
    },
    'decide-run': async (event, principal, correlationId) => {
      const { executor } = this.options;
      const call = { correlationId, principal: principal.id };
      const { runId, decision, comment } = parseData(DecideData, event.data);
      try {
        await executor.decideRun(runId, { principalId: principal.id, decision, comment }, call);
      } catch (error) {
        // Someone else decided first: the card now shows who, which is the answer.
        if (!isDeputyError(error) || error.code !== 'DEPUTY_E_CONFLICT') throw error;
      }
      const run = await executor.getRun(runId, call);
      // An approver's card keeps showing the request, now with its outcome; the run itself is the requester's.
      if (run.principalId !== principal.id) {
        return { screen: 'approval-request', run, requester: run.principalId, viewerMayDecide: false, personal: true, ...(await this.labelsOf(run, correlationId)) };
      }
      return screenFor(run, principal.id);
    },
    'show-scripts': (event, principal, correlationId) => this.scriptList(principal, parseData(ShowScriptsData, event.data).status, correlationId),
    'show-approvals': (_event, principal, correlationId) => this.approvalList(principal, correlationId),
    'show-script': (event, principal, correlationId) => this.scriptCard(event, principal, correlationId),
    'refresh-script': (event, principal, correlationId) => this.scriptCard(event, principal, correlationId),
    'decide-script': async (event, principal, correlationId) => {
      const { scriptId, versionHash, decision, comment } = parseData(DecideScriptData, event.data);
      const to: ScriptStatus = decision === 'approve' ? 'approved' : 'draft';
      return this.moveScript(event, principal, { scriptId, versionHash, from: 'testing', to, comment }, correlationId);
    },
    'change-script-status': (event, principal, correlationId) => this.moveScript(event, principal, parseData(MoveScriptData, event.data), correlationId),
  };

  private async scriptCard(event: Extract<Inbound, { kind: 'submit' }>, principal: PrincipalView, correlationId: string): Promise<Screen> {
    const { scriptId } = parseData(ScriptData, event.data);
    return scriptScreen(await this.options.executor.getScript(scriptId, principal.id, { correlationId, principal: principal.id }));
  }

  private async welcome(principal: PrincipalView, correlationId: string): Promise<Screen> {
    const [actions, approvals] = await Promise.all([
      this.actionsOf(principal.id, correlationId),
      this.options.executor.listApprovals(principal.id, { correlationId }),
    ]);
    return welcomeScreen(principal, actions, approvals);
  }

  /** Text that is no command: say so, and offer the actions it resembles, prefilled from it. */
  private async suggestions(principal: PrincipalView, text: string, correlationId: string): Promise<Screen> {
    const actions = await this.actionsOf(principal.id, correlationId);
    return { screen: 'suggestions', text, suggestions: suggestActions(text, actions) };
  }

  private async runList(principal: PrincipalView, correlationId: string): Promise<Screen> {
    return runListScreen(await this.options.executor.listRuns({ principal: principal.id, limit: 15 }, { correlationId }));
  }

  private async actionList(principal: PrincipalView, correlationId: string): Promise<Screen> {
    const actions = await this.actionsOf(principal.id, correlationId);
    return { screen: 'action-list', principal, actions };
  }

  private async scriptList(principal: PrincipalView, status: ScriptStatus | undefined, correlationId: string): Promise<Screen> {
    return scriptListScreen(await this.options.executor.listScripts(principal.id, status, { correlationId }), status);
  }

  private async approvalList(principal: PrincipalView, correlationId: string): Promise<Screen> {
    return approvalListScreen(await this.options.executor.listApprovals(principal.id, { correlationId }));
  }

  private async moveScript(
    event: Extract<Inbound, { kind: 'submit' }>,
    principal: PrincipalView,
    move: { scriptId: string; versionHash: string; from: ScriptStatus; to: ScriptStatus; comment?: string | undefined },
    correlationId: string,
  ): Promise<Screen> {
    const { executor, conversations } = this.options;
    const call = { correlationId };
    if (event.messageId !== undefined) {
      // This card shows the version from now on: once decided, it is updated like every approver's.
      const key = reviewCardKey(move.scriptId, move.versionHash, principal.id);
      await conversations.rememberRunMessage(key, { channel: event.conversation.channel, conversationId: event.conversation.conversationId, messageId: event.messageId, viewer: principal.id });
    }
    try {
      const view = await executor.changeScriptStatus(
        move.scriptId,
        { principalId: principal.id, to: move.to, hash: move.versionHash, from: move.from, ...(move.comment ? { comment: move.comment } : {}) },
        call,
      );
      return scriptScreen(view);
    } catch (error) {
      // Decided by someone else first, or the text changed: the current card says what happened.
      if (!isDeputyError(error) || error.code !== 'DEPUTY_E_CONFLICT') throw error;
      return scriptScreen(await executor.getScript(move.scriptId, principal.id, call));
    }
  }

  /**
   * An action's form as the user sees it: help in their language, and the choices of
   * query-bound fields whose inputs are known (the first 100; asked as this principal). A field
   * whose choices cannot be loaded says so on the form rather than failing it.
   */
  private async formScreen(
    principal: PrincipalView,
    action: ActionView,
    formId: string,
    options: { values?: Record<string, unknown>; errors?: Record<string, string>; parameterSet?: string; locale?: string | undefined },
    correlationId: string,
  ): Promise<Screen> {
    const shown = localizeAction(action, options.locale);
    const values = options.values ?? {};
    const bound = shown.form.fields.filter((field) => field.choicesFrom);
    const choices: Record<string, Choice[]> = {};
    const waitingFor: Record<string, string[]> = {};
    const errors: Record<string, string> = { ...options.errors };
    await Promise.all(
      bound.map(async (field) => {
        const filled = (name: string) => {
          const value = values[name] ?? shown.form.fields.find((candidate) => candidate.name === name)?.default;
          return value !== undefined && value !== '' && !(Array.isArray(value) && value.length === 0);
        };
        const missing = (field.choicesFrom?.dependsOn ?? []).filter((name) => !filled(name));
        if (missing.length > 0) {
          waitingFor[field.name] = missing.map((name) => shown.form.fields.find((candidate) => candidate.name === name)?.label ?? name);
          return;
        }
        try {
          const defaults = Object.fromEntries(shown.form.fields.filter((candidate) => candidate.default !== undefined).map((candidate) => [candidate.name, candidate.default]));
          const list = await this.options.executor.listChoices({ actionId: action.id, parameter: field.name, principal: principal.id, values: { ...defaults, ...values } }, { correlationId });
          choices[field.name] = list.choices;
          if (list.waitingFor && list.waitingFor.length > 0) waitingFor[field.name] = list.waitingFor;
        } catch (error) {
          this.log.warn({ correlationId, field: field.name, code: isDeputyError(error) ? error.code : undefined }, 'choices of a form field could not be loaded');
          errors[field.name] ??= isDeputyError(error) ? ERRORS[error.code].message : ERRORS.DEPUTY_E_INTERNAL.message;
        }
      }),
    );
    return {
      screen: 'action-form',
      action: shown,
      formId,
      ...(options.values !== undefined ? { values } : {}),
      ...(Object.keys(errors).length > 0 ? { errors } : {}),
      ...(Object.keys(choices).length > 0 ? { choices } : {}),
      ...(Object.keys(waitingFor).length > 0 ? { waitingFor } : {}),
      ...(options.parameterSet ? { parameterSet: options.parameterSet } : {}),
    };
  }

  /** Choices of a query-bound field as the user types (Teams search, Slack external select); none when they cannot be had. */
  async choices(user: ChatUser, request: ChoiceRequest): Promise<Choice[]> {
    const correlationId = newCorrelationId();
    try {
      const principal = await this.resolvePrincipal(user.identity, correlationId);
      const list = await this.options.executor.listChoices(
        { actionId: request.actionId, parameter: request.parameter, principal: principal.id, ...(request.search ? { search: request.search } : {}), values: request.values },
        { correlationId },
      );
      return list.choices;
    } catch (error) {
      this.log.info({ correlationId, actionId: request.actionId, parameter: request.parameter, code: isDeputyError(error) ? error.code : undefined }, 'choices asked by a chat client could not be given');
      return [];
    }
  }

  /** The principal's actions as the executor has them now; remembered for reading their forms back. */
  private async actionsOf(principalId: string, correlationId: string): Promise<ActionView[]> {
    const actions = await this.options.executor.listActions(principalId, { correlationId });
    this.actionsShown.set(principalId, actions);
    return actions;
  }

  /**
   * One of the principal's actions. `shown`: the one their card was drawn from, when still
   * remembered (reading a submitted form), rather than asking the executor again.
   */
  private async findAction(principal: PrincipalView, actionId: string, correlationId: string, source: 'current' | 'shown' = 'current'): Promise<ActionView> {
    const remembered = source === 'shown' ? this.actionsShown.get(principal.id)?.find((candidate) => candidate.id === actionId) : undefined;
    if (remembered) return remembered;
    const actions = await this.actionsOf(principal.id, correlationId);
    const action = actions.find((candidate) => candidate.id === actionId);
    if (!action) throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `action ${actionId} is not among ${principal.id}'s actions` });
    return action;
  }

  private async submitForm(
    event: Extract<Inbound, { kind: 'submit' }>,
    principal: PrincipalView,
    data: z.infer<typeof SubmitFormData>,
    correlationId: string,
  ): Promise<Screen> {
    const { executor, conversations } = this.options;
    const action = await this.findAction(principal, data.actionId, correlationId, 'shown');
    const parameterSet = data.parameterSet;
    const values = data.values === undefined ? readFormValues(action.form, event.data) : normalizeFormValues(action.form, data.values, parameterSet);
    // The target field is not a script parameter: its choice is where the run goes.
    const { [TARGET_FIELD]: target, ...inputs } = values;
    const { conversation, messageId } = event;
    // The form card's id makes a second press of the same Run button answer the first run.
    const formId = data.formId ?? newFormId();
    let created;
    try {
      created = await executor.createRun(
        {
          actionId: action.id,
          principalId: principal.id,
          ...(typeof target === 'string' || Array.isArray(target) ? { target } : {}),
          inputs,
          origin: { kind: conversation.channel, conversationId: conversation.conversationId, threadId: conversation.threadId, messageId },
          ...(parameterSet ? { parameterSet } : {}),
        },
        { correlationId, ...(data.formId ? { idempotencyKey: `form:${data.formId}` } : {}) },
      );
    } catch (error) {
      if (isDeputyError(error) && error.code === 'DEPUTY_E_VALIDATION') {
        const errors = error.fields && Object.keys(error.fields).length > 0 ? error.fields : { _form: ERRORS.DEPUTY_E_VALIDATION.message };
        // The form shown again is the current one, in case the remembered one has changed since.
        const current = await this.findAction(principal, data.actionId, correlationId);
        return this.formScreen(principal, current, formId, { values: valuesToKeep(current.form, values), errors, ...(parameterSet ? { parameterSet } : {}), locale: event.user.locale }, correlationId);
      }
      // The same card pressed again with other values: its first press started a run, which the card keeps showing.
      const first = isDeputyError(error) && error.code === 'DEPUTY_E_CONFLICT' && data.formId ? await this.runOfCard(principal, conversation, messageId, correlationId) : undefined;
      if (first) return screenFor(first, principal.id, labelsOf(action));
      throw error;
    }
    const run = created.run ?? (await executor.getRun(created.id, { correlationId, principal: principal.id }));
    const screen = screenFor(run, principal.id, labelsOf(action));
    // The edge shows `immediate` in place of the form's message, which now shows the run; the
    // run's origin (kept by the executor) names that message, so there is nothing to write here.
    // A replayed press was answered (and its card shown) the first time; this is the same run.
    if (messageId !== undefined || created.replayed) return screen;
    // No card to replace (a modal, a typed command): the core posts the status itself, so it knows the message to update.
    this.defer(async () => {
      const posted = await this.port(conversation.channel).post(conversation, screenFor(await executor.getRun(run.id, { correlationId, principal: principal.id }), principal.id, labelsOf(action)));
      await conversations.rememberRunMessage(run.id, { channel: conversation.channel, conversationId: conversation.conversationId, messageId: posted, viewer: principal.id });
    });
    return { screen: 'notice', text: `Submitted "${action.title}". Its progress and result follow in this conversation.` };
  }

  /** The principal's recent run that a card's earlier press started, if the card is known. */
  private async runOfCard(principal: PrincipalView, conversation: ConversationRef, messageId: string | undefined, correlationId: string): Promise<RunView | undefined> {
    if (messageId === undefined) return undefined;
    const recent = await this.options.executor.listRuns({ principal: principal.id, limit: 15 }, { correlationId });
    return recent.find((run) => run.origin.messageId === messageId && run.origin.conversationId === conversation.conversationId);
  }

  /** The full output as a file: text as text, objects as CSV (one shape) or JSON (several). */
  private async postOutput(conversation: ConversationRef, run: RunView, viewer: string, correlationId: string): Promise<void> {
    const full = await this.options.executor.getRun(run.id, { correlationId, principal: viewer });
    const file = outputFile(full, `${run.actionId}-${run.id}`);
    await this.port(conversation.channel).postFile(conversation, file);
  }

  /** A ScriptRunner script's HTML report ($SRXEnv.ResultHtml), as a file in the run's thread. */
  private async postHtml(conversation: ConversationRef, run: RunView, viewer: string, correlationId: string): Promise<void> {
    const content = await this.options.executor.getRunHtml(run.id, { correlationId, principal: viewer });
    await this.port(conversation.channel).postFile(conversation, { name: `${run.actionId}-${run.id}.html`, contentType: 'text/html', content });
  }

  /**
   * A run as the person who pressed a button sees it: whether they may decide a request is the
   * executor's answer (the runs waiting for their decision), and the card is theirs alone.
   */
  private async personalScreen(run: RunView, principal: PrincipalView, correlationId: string): Promise<Screen> {
    if (run.state !== 'awaiting-approval') return screenFor(run, principal.id);
    const [approvals, labels] = await Promise.all([this.options.executor.listApprovals(principal.id, { correlationId }), this.labelsOf(run, correlationId)]);
    const viewerIsRequester = run.principalId === principal.id;
    const viewerMayDecide = !viewerIsRequester && approvals.runs.some((waiting) => waiting.id === run.id);
    return { screen: 'approval-request', run, requester: run.principalId, viewerMayDecide, viewerIsRequester, personal: true, ...labels };
  }

  /**
   * The form's labels for a run's inputs, from the requester's own view of the action (an
   * approver need not be able to run it). Best effort: without them the card humanizes the names.
   */
  private async labelsOf(run: RunView, correlationId: string): Promise<{ labels?: Record<string, string> }> {
    try {
      const actions = await this.options.executor.listActions(run.principalId, { correlationId });
      const action = actions.find((candidate) => candidate.id === run.actionId);
      return action ? { labels: labelsOf(action) } : {};
    } catch (error) {
      this.log.debug({ runId: run.id, code: isDeputyError(error) ? error.code : undefined }, 'form labels unavailable for an approval card');
      return {};
    }
  }

  private errorScreen(error: unknown, correlationId: string, log: Logger, verb?: SubmitVerb): Screen {
    if (isDeputyError(error)) {
      const level = error.status >= 500 ? 'error' : 'info';
      log[level]({ code: error.code, detail: error.detail, err: error.cause instanceof Error ? error.cause.message : undefined }, 'chat request failed');
      return { screen: 'error', correlationId, ...explainRefusal(error.code, verb) };
    }
    log.error({ err: error }, 'chat request failed unexpectedly');
    return { screen: 'error', message: ERRORS.DEPUTY_E_INTERNAL.message, correlationId };
  }

  // ------------------------------------------------------------------ plumbing

  private port(channel: Channel): ConversationPort {
    const port = this.ports.get(channel);
    if (!port) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: `no edge attached for channel ${channel}` });
    return port;
  }

  private markBusy(conversation: ConversationRef): () => void {
    const key = busyKey(conversation.channel, conversation.conversationId);
    let entry = this.busy.get(key);
    if (!entry) {
      let release: () => void = () => undefined;
      const done = new Promise<void>((resolve) => (release = resolve));
      entry = { count: 0, done, release };
      this.busy.set(key, entry);
    }
    entry.count += 1;
    const current = entry;
    return () => {
      current.count -= 1;
      if (current.count > 0) return;
      // Let the edge show the answer (it does so as soon as `handle` resolves) before updates flow.
      setImmediate(() => {
        if (current.count > 0) return;
        if (this.busy.get(key) === current) this.busy.delete(key);
        current.release();
        if (this.busy.size > 0) return;
        for (const quiet of this.whenQuiet) quiet();
        this.whenQuiet.clear();
      });
    };
  }

  /** Resolves once no conversation is busy, or at the latest after MAX_UPDATE_DELAY_MS. */
  private answersFirst(): Promise<void> {
    if (this.busy.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const go = () => {
        clearTimeout(timer);
        this.whenQuiet.delete(go);
        resolve();
      };
      const timer = setTimeout(go, this.options.maxUpdateDelayMs ?? MAX_UPDATE_DELAY_MS);
      timer.unref();
      this.whenQuiet.add(go);
    });
  }

  private defer(task: () => Promise<void>): void {
    const promise: Promise<void> = task()
      .catch((error: unknown) => {
        const detail = isDeputyError(error) ? { code: error.code, detail: error.detail } : { err: error };
        this.log.warn(detail, 'background chat work failed');
      })
      .finally(() => this.background.delete(promise));
    this.background.add(promise);
  }
}

/** A form card's own id (unguessable, so one person's key is never another card's). */
function newFormId(): string {
  return `form_${randomBytes(16).toString('base64url')}`;
}


function busyKey(channel: Channel, conversationId: string): string {
  return `${channel}:${conversationId}`;
}
