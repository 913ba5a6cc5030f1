/**
 * The bot core: one conversation flow for every platform. It resolves who speaks, asks the
 * executor (which decides everything again), answers each event with one screen at once, and
 * follows runs through the executor's event stream to update cards in place and notify people.
 */
import { z } from 'zod';
import {
  DeputyError,
  ERRORS,
  isDeputyError,
  isFinalRunState,
  MASK,
  type ActionView,
  type Channel,
  type PrincipalView,
  type RunEvent,
  type RunView,
} from '../../executor/contract/index.ts';
import { readFormValues } from '../../cards/form.ts';
import type { Clock } from '../../lib/clock.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import type { Logger } from '../../lib/logger.ts';
import type { ConversationStore, RunMessage } from './conversation-store.ts';
import { EventStream } from './event-stream.ts';
import type { ExecutorClient } from './executor-client.ts';
import { normalizeFormValues, valuesToKeep } from './form-values.ts';
import type {
  ChatUser,
  ConversationHandler,
  ConversationPort,
  ConversationRef,
  HandleResult,
  HomeOverview,
  Inbound,
  Screen,
} from './model.ts';

const OpenFormData = z.object({ actionId: z.string().min(1).max(200), fromRunId: z.string().min(1).max(200).optional() });
/**
 * `values` keyed by parameter name (edges that build their own forms), or, when absent, the
 * card's own inputs merged into the data as Adaptive Cards do (read back by cards/form.ts).
 */
const SubmitFormData = z.object({ actionId: z.string().min(1).max(200), values: z.record(z.string(), z.unknown()).optional() });
const RunData = z.object({ runId: z.string().min(1).max(200) });
const DecideData = RunData.extend({ decision: z.enum(['approve', 'reject']), comment: z.string().max(2000).optional() });

/** Roles that are asked to decide on other people's runs (DESIGN.md "Approvals"). */
const APPROVER_ROLES = new Set(['company-admin', 'cyber-admin']);

export interface BotCoreOptions {
  executor: ExecutorClient;
  logger: Logger;
  clock: Clock;
  conversations: ConversationStore;
  /** The edges' ports; more can be attached later with `attach`. */
  edges?: Iterable<{ channel: Channel; port: ConversationPort }>;
  /** Back-off of the event stream's reconnects (tests shorten it). */
  eventBackoffMs?: { initial: number; max: number };
}

interface Busy {
  count: number;
  done: Promise<void>;
  release: () => void;
}

export class BotCore implements ConversationHandler {
  private readonly ports = new Map<Channel, ConversationPort>();
  private readonly background = new Set<Promise<void>>();
  /** Conversations with an event being answered: run updates there wait until the answer is shown. */
  private readonly busy = new Map<string, Busy>();
  /** Run events are applied one after another per run, in the order the executor sent them. */
  private readonly runChains = new Map<string, Promise<void>>();
  private readonly events: EventStream;
  private readonly log: Logger;

  constructor(private readonly options: BotCoreOptions) {
    this.log = options.logger.child({ component: 'bot-core' });
    for (const edge of options.edges ?? []) this.attach(edge);
    this.events = new EventStream({
      client: options.executor,
      logger: this.log,
      onEvent: (event) => this.onRunEvent(event),
      initialBackoffMs: options.eventBackoffMs?.initial,
      maxBackoffMs: options.eventBackoffMs?.max,
    });
  }

  attach(edge: { channel: Channel; port: ConversationPort }): void {
    this.ports.set(edge.channel, edge.port);
  }

  /** Starts following the executor's run events; resolves once the stream is connected. */
  async start(): Promise<void> {
    this.events.start();
    await this.events.connected();
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.idle();
  }

  /** Resolves when no background work (updates, notifications, files) is left. */
  async idle(): Promise<void> {
    while (this.background.size > 0 || this.runChains.size > 0) {
      await Promise.allSettled([...this.background, ...this.runChains.values()]);
    }
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
        principal = await this.options.executor.resolveIdentity(event.user.identity, { correlationId });
      } catch (error) {
        if (isDeputyError(error) && error.code === 'DEPUTY_E_NOT_ENROLLED') {
          log.info('chat user is not enrolled');
          return { immediate: { screen: 'notice', text: ERRORS.DEPUTY_E_NOT_ENROLLED.message } };
        }
        throw error;
      }
      this.defer(() => this.options.conversations.rememberPrincipal(principal.id, event.conversation));
      const immediate = await this.answer(event, principal, correlationId);
      log.debug({ principal: principal.id, ms: this.options.clock.now() - started }, 'answered');
      return { immediate };
    } catch (error) {
      return { immediate: this.errorScreen(error, correlationId, log) };
    } finally {
      release();
    }
  }

  async home(user: ChatUser): Promise<HomeOverview | undefined> {
    const correlationId = newCorrelationId();
    const { executor } = this.options;
    let principal: PrincipalView;
    try {
      principal = await executor.resolveIdentity(user.identity, { correlationId });
    } catch (error) {
      if (isDeputyError(error) && error.code === 'DEPUTY_E_NOT_ENROLLED') return undefined;
      throw error;
    }
    const isApprover = principal.roles.some((role) => APPROVER_ROLES.has(role));
    const [actions, recentRuns, awaiting] = await Promise.all([
      executor.listActions(principal.id, { correlationId }),
      executor.listRuns({ principal: principal.id, limit: 10 }, { correlationId }),
      isApprover ? executor.listRuns({ state: 'awaiting-approval', limit: 20 }, { correlationId }) : Promise.resolve([]),
    ]);
    const pendingApprovals = awaiting.filter((run) => run.principalId !== principal.id && run.approval?.decision === undefined);
    return { principal, actions, recentRuns, pendingApprovals };
  }

  private async answer(event: Inbound, principal: PrincipalView, correlationId: string): Promise<Screen> {
    const { executor } = this.options;
    const call = { correlationId };
    if (event.kind === 'message') return this.actionList(principal, correlationId);
    switch (event.verb) {
      case 'show-actions':
        return this.actionList(principal, correlationId);
      case 'open-form': {
        const { actionId, fromRunId } = parseData(OpenFormData, event.data);
        const action = await this.findAction(principal, actionId, correlationId);
        if (fromRunId === undefined) return { screen: 'action-form', action };
        // "Run again": the earlier run's inputs as the prefill; masked secrets are never prefilled.
        const earlier = await executor.getRun(fromRunId, call);
        const values = Object.fromEntries(Object.entries(earlier.inputs).filter(([, value]) => value !== MASK));
        return { screen: 'action-form', action, values: earlier.actionId === action.id ? valuesToKeep(action.form, values) : {} };
      }
      case 'submit-form':
        return this.submitForm(event, principal, parseData(SubmitFormData, event.data), correlationId);
      case 'cancel-run': {
        const { runId } = parseData(RunData, event.data);
        await executor.cancelRun(runId, principal.id, call);
        return this.screenFor(await executor.getRun(runId, call), principal.id);
      }
      case 'refresh-run': {
        const { runId } = parseData(RunData, event.data);
        return this.screenFor(await executor.getRun(runId, call), principal.id);
      }
      case 'show-output': {
        const { runId } = parseData(RunData, event.data);
        const run = await executor.getRun(runId, call);
        // The file is not needed for the answer: post it after answering.
        this.defer(() => this.postOutput(event.conversation, run, correlationId));
        return this.screenFor(run, principal.id);
      }
      case 'decide-run': {
        const { runId, decision, comment } = parseData(DecideData, event.data);
        await executor.decideRun(runId, { principalId: principal.id, decision, comment }, call);
        return this.screenFor(await executor.getRun(runId, call), principal.id);
      }
      default:
        throw new DeputyError('DEPUTY_E_BAD_REQUEST', { detail: `unknown verb ${String((event as { verb: unknown }).verb)}` });
    }
  }

  private async actionList(principal: PrincipalView, correlationId: string): Promise<Screen> {
    const actions = await this.options.executor.listActions(principal.id, { correlationId });
    return { screen: 'action-list', principal, actions };
  }

  private async findAction(principal: PrincipalView, actionId: string, correlationId: string): Promise<ActionView> {
    const actions = await this.options.executor.listActions(principal.id, { correlationId });
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
    const action = await this.findAction(principal, data.actionId, correlationId);
    const inputs = data.values === undefined ? readFormValues(action.form, event.data) : normalizeFormValues(action.form, data.values);
    const { conversation, messageId } = event;
    let created;
    try {
      created = await executor.createRun(
        {
          actionId: action.id,
          principalId: principal.id,
          inputs,
          origin: { kind: conversation.channel, conversationId: conversation.conversationId, threadId: conversation.threadId, messageId },
        },
        { correlationId },
      );
    } catch (error) {
      if (isDeputyError(error) && error.code === 'DEPUTY_E_VALIDATION') {
        const errors = error.fields && Object.keys(error.fields).length > 0 ? error.fields : { _form: ERRORS.DEPUTY_E_VALIDATION.message };
        return { screen: 'action-form', action, values: valuesToKeep(action.form, inputs), errors };
      }
      throw error;
    }
    const run = await executor.getRun(created.id, { correlationId });
    const screen = this.screenFor(run, principal.id);
    // The edge shows `immediate` in place of the form's message, which now shows the run; the
    // run's origin (kept by the executor) names that message, so there is nothing to write here.
    if (messageId !== undefined) return screen;
    // No card to replace (a modal, a typed command): the core posts the status itself, so it knows the message to update.
    this.defer(async () => {
      const posted = await this.port(conversation.channel).post(conversation, this.screenFor(await executor.getRun(run.id, { correlationId }), principal.id));
      await conversations.rememberRunMessage(run.id, { channel: conversation.channel, conversationId: conversation.conversationId, messageId: posted, viewer: principal.id });
    });
    return { screen: 'notice', text: `Submitted "${action.title}". Its progress and result follow in this conversation.` };
  }

  private async postOutput(conversation: ConversationRef, run: RunView, correlationId: string): Promise<void> {
    const content = await this.options.executor.getRunOutput(run.id, { correlationId });
    await this.port(conversation.channel).postFile(conversation, {
      name: `${run.actionId}-${run.id}.txt`,
      contentType: 'text/plain',
      content,
    });
  }

  /** The screen that shows a run to `viewer`: its form of approval, progress or result. */
  private screenFor(run: RunView, viewer: string): Screen {
    if (run.state === 'awaiting-approval') {
      return { screen: 'approval-request', run, requester: run.principalId, viewerMayDecide: viewer !== run.principalId };
    }
    if (isFinalRunState(run.state)) return { screen: 'run-summary', run, canShowAll: hasMoreOutput(run) };
    return { screen: 'run-status', run, canCancel: viewer === run.principalId };
  }

  private errorScreen(error: unknown, correlationId: string, log: Logger): Screen {
    if (isDeputyError(error)) {
      const level = error.status >= 500 ? 'error' : 'info';
      log[level]({ code: error.code, detail: error.detail, err: error.cause instanceof Error ? error.cause.message : undefined }, 'chat request failed');
      return { screen: 'error', message: ERRORS[error.code].message, correlationId };
    }
    log.error({ err: error }, 'chat request failed unexpectedly');
    return { screen: 'error', message: ERRORS.DEPUTY_E_INTERNAL.message, correlationId };
  }

  // ------------------------------------------------------------------ run events

  private onRunEvent(event: RunEvent): void {
    if (event.type === 'run.created') return;
    const runId = event.run.id;
    const previous = this.runChains.get(runId) ?? Promise.resolve();
    const next = previous
      .then(() => this.applyRunEvent(event))
      .catch((error: unknown) => this.log.warn({ runId, type: event.type, err: error instanceof Error ? error.message : String(error) }, 'run event not delivered'))
      .finally(() => {
        if (this.runChains.get(runId) === next) this.runChains.delete(runId);
      });
    this.runChains.set(runId, next);
  }

  private async applyRunEvent(event: RunEvent): Promise<void> {
    const { run } = event;
    const origin = run.origin.conversationId !== undefined && isChannel(run.origin.kind)
      ? { channel: run.origin.kind, conversationId: run.origin.conversationId }
      : undefined;
    // An answer still being shown in that conversation goes first; this update must not be overwritten by it.
    if (origin) await this.busy.get(busyKey(origin.channel, origin.conversationId))?.done;
    const tracked = this.trackedMessage(run);
    if (tracked) {
      const ref = this.options.conversations.conversation(tracked.channel, tracked.conversationId)
        ?? { channel: tracked.channel, conversationId: tracked.conversationId, threadId: run.origin.threadId };
      await this.port(tracked.channel).update(ref, tracked.messageId, this.screenFor(run, tracked.viewer));
      if (event.type === 'run.finished' && hasMoreOutput(run)) {
        this.defer(() => this.postOutput(ref, run, run.correlationId));
      }
    }
    if (event.type === 'run.finished' || event.type === 'approval.requested') {
      await Promise.all(event.notify.filter((principalId) => principalId !== tracked?.viewer).map((principalId) => this.notify(principalId, run)));
    }
  }

  /** The message that shows this run: remembered when it was shown, or named by the run's origin. */
  private trackedMessage(run: RunView): RunMessage | undefined {
    const remembered = this.options.conversations.runMessage(run.id);
    if (remembered) return remembered;
    const { kind, conversationId, messageId } = run.origin;
    if (!isChannel(kind) || conversationId === undefined || messageId === undefined) return undefined;
    return { channel: kind, conversationId, messageId, viewer: run.principalId };
  }

  /** A proactive message in the principal's last conversation with the bot, at its top level. */
  private async notify(principalId: string, run: RunView): Promise<void> {
    const last = this.options.conversations.lastConversationOf(principalId);
    if (!last) {
      this.log.info({ runId: run.id, principalId }, 'no conversation known for this principal; notification not sent');
      return;
    }
    const port = this.ports.get(last.channel);
    if (!port) {
      this.log.info({ runId: run.id, principalId, channel: last.channel }, 'channel is off; notification not sent');
      return;
    }
    const { threadId: _thread, ...topLevel } = last;
    await port.post(topLevel, this.screenFor(run, principalId));
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
      });
    };
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

function parseData<T extends z.ZodType>(schema: T, data: Record<string, unknown>): z.infer<T> {
  const result = schema.safeParse(data);
  if (!result.success) throw new DeputyError('DEPUTY_E_BAD_REQUEST', { detail: `card data: ${result.error.message}` });
  return result.data;
}

function hasMoreOutput(run: RunView): boolean {
  const summary = run.summary;
  return summary !== undefined && (summary.outputLineCount > summary.lines.length || summary.truncated);
}

function isChannel(kind: string): kind is Channel {
  return kind === 'teams' || kind === 'slack' || kind === 'webchat';
}

function busyKey(channel: Channel, conversationId: string): string {
  return `${channel}:${conversationId}`;
}
