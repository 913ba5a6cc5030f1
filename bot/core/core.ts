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
  TARGET_FIELD,
  type ActionView,
  type Channel,
  type ChatIdentity,
  type ExecutorEventMessage,
  type PlanEvent,
  type PrincipalView,
  type RunEvent,
  type RunView,
  type ScriptEvent,
  type ScriptStatus,
  type ScriptView,
} from '../../executor/contract/index.ts';
import type { ListItem, ScriptReview } from '../../cards/screens.ts';
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
const ScriptStatusData = z.enum(['draft', 'testing', 'approved']);
const ShowScriptsData = z.object({ status: ScriptStatusData.optional() });
const ScriptData = z.object({ scriptId: z.string().min(1).max(200) });
const ScriptVersionData = ScriptData.extend({ versionHash: z.string().regex(/^[0-9a-f]{64}$/) });
const DecideScriptData = ScriptVersionData.extend({ decision: z.enum(['approve', 'reject']), comment: z.string().max(2000).optional() });
const MoveScriptData = ScriptVersionData.extend({ from: ScriptStatusData, to: ScriptStatusData });

/** Typed commands besides "anything else shows the actions": `scripts [status]`, `script <id>`, `approvals`. */
type Command = { kind: 'scripts'; status?: ScriptStatus } | { kind: 'script'; scriptId: string } | { kind: 'approvals' } | { kind: 'actions' };

export function parseCommand(text: string): Command {
  const words = text.trim().replace(/^\/?deputy\s+/i, '').split(/\s+/).filter(Boolean);
  const [first = '', second, ...rest] = words.map((word) => word.toLowerCase());
  if (rest.length > 0) return { kind: 'actions' };
  if (first === 'scripts') {
    if (second === undefined) return { kind: 'scripts' };
    const status = ScriptStatusData.safeParse(second);
    return status.success ? { kind: 'scripts', status: status.data } : { kind: 'actions' };
  }
  if (first === 'script' && second !== undefined) return { kind: 'script', scriptId: words[1] ?? second };
  if (first === 'approvals' && second === undefined) return { kind: 'approvals' };
  return { kind: 'actions' };
}

/** Keys under which the conversation store remembers the review card each person was shown. */
function reviewCardKey(scriptId: string, hash: string, principalId: string): string {
  return `script-review:${scriptId}:${hash}:${principalId}`;
}
function approvalCardKey(runId: string, principalId: string): string {
  return `run-approval:${runId}:${principalId}`;
}

const STATUS_WORDS: Record<ScriptStatus, string> = { draft: 'Draft', testing: 'Testing', approved: 'Approved' };

export interface BotCoreOptions {
  executor: ExecutorClient;
  logger: Logger;
  clock: Clock;
  conversations: ConversationStore;
  /** The edges' ports; more can be attached later with `attach`. */
  edges?: Iterable<{ channel: Channel; port: ConversationPort }>;
  /** Back-off of the event stream's reconnects (tests shorten it). */
  eventBackoffMs?: { initial: number; max: number };
  /**
   * How long a resolved chat identity is reused without asking the executor again. Safe to
   * cache: the executor re-checks the principal and the policy on every request made for them.
   */
  identityCacheMs?: number;
}

interface Busy {
  count: number;
  done: Promise<void>;
  release: () => void;
}

export class BotCore implements ConversationHandler {
  private readonly ports = new Map<Channel, ConversationPort>();
  private readonly principals = new Map<string, { principal: PrincipalView; until: number }>();
  private readonly background = new Set<Promise<void>>();
  /** Conversations with an event being answered: run updates there wait until the answer is shown. */
  private readonly busy = new Map<string, Busy>();
  /** Executor events are applied one after another per run (or script), in the order the executor sent them. */
  private readonly runChains = new Map<string, Promise<void>>();
  private readonly events: EventStream;
  private readonly log: Logger;

  constructor(private readonly options: BotCoreOptions) {
    this.log = options.logger.child({ component: 'bot-core' });
    for (const edge of options.edges ?? []) this.attach(edge);
    this.events = new EventStream({
      client: options.executor,
      logger: this.log,
      onEvent: (event) => this.onExecutorEvent(event),
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
        principal = await this.resolvePrincipal(event.user.identity, correlationId);
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

  /** Known identities only are kept, so a newly enrolled user is recognised at once. */
  private async resolvePrincipal(identity: ChatIdentity, correlationId: string): Promise<PrincipalView> {
    const key = JSON.stringify(identity);
    const now = this.options.clock.now();
    const cached = this.principals.get(key);
    if (cached && cached.until > now) return cached.principal;
    const principal = await this.options.executor.resolveIdentity(identity, { correlationId });
    this.principals.set(key, { principal, until: now + (this.options.identityCacheMs ?? 30_000) });
    if (this.principals.size > 10_000) this.principals.delete(this.principals.keys().next().value as string);
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
      executor.listActions(principal.id, { correlationId }),
      executor.listRuns({ principal: principal.id, limit: 10 }, { correlationId }),
      executor.listApprovals(principal.id, { correlationId }),
    ]);
    return { principal, actions, recentRuns, pendingApprovals: approvals.runs.slice(0, 20), pendingScripts: approvals.scripts.map(toScriptReview) };
  }

  private async answer(event: Inbound, principal: PrincipalView, correlationId: string): Promise<Screen> {
    const { executor } = this.options;
    const call = { correlationId, principal: principal.id };
    if (event.kind === 'message') {
      const command = parseCommand(event.text);
      switch (command.kind) {
        case 'scripts':
          return this.scriptList(principal, command.status, correlationId);
        case 'script':
          return this.scriptScreen(await executor.getScript(command.scriptId, principal.id, call));
        case 'approvals':
          return this.approvalList(principal, correlationId);
        case 'actions':
          return this.actionList(principal, correlationId);
      }
    }
    switch (event.verb) {
      case 'show-actions':
        return this.actionList(principal, correlationId);
      case 'open-form': {
        const { actionId, fromRunId } = parseData(OpenFormData, event.data);
        const action = await this.findAction(principal, actionId, correlationId);
        if (fromRunId === undefined) return { screen: 'action-form', action };
        // "Run again": the earlier run's inputs as the prefill; masked secrets are never prefilled.
        const earlier = await executor.getRun(fromRunId, call);
        const values: Record<string, unknown> = Object.fromEntries(Object.entries(earlier.inputs).filter(([, value]) => value !== MASK));
        const targets = earlier.targets?.map((target) => target.id) ?? [];
        if (targets.length > 0) values[TARGET_FIELD] = targets.length === 1 ? targets[0] : targets;
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
        this.defer(() => this.postOutput(event.conversation, run, principal.id, correlationId));
        return this.screenFor(run, principal.id);
      }
      case 'decide-run': {
        const { runId, decision, comment } = parseData(DecideData, event.data);
        try {
          await executor.decideRun(runId, { principalId: principal.id, decision, comment }, call);
        } catch (error) {
          // Someone else decided first: the card now shows who, which is the answer.
          if (!isDeputyError(error) || error.code !== 'DEPUTY_E_CONFLICT') throw error;
        }
        const run = await executor.getRun(runId, call);
        // An approver's card keeps showing the request, now with its outcome; the run itself is the requester's.
        if (run.principalId !== principal.id) return { screen: 'approval-request', run, requester: run.principalId, viewerMayDecide: false };
        return this.screenFor(run, principal.id);
      }
      case 'show-scripts':
        return this.scriptList(principal, parseData(ShowScriptsData, event.data).status, correlationId);
      case 'show-approvals':
        return this.approvalList(principal, correlationId);
      case 'show-script':
      case 'refresh-script': {
        const { scriptId } = parseData(ScriptData, event.data);
        return this.scriptScreen(await executor.getScript(scriptId, principal.id, call));
      }
      case 'decide-script': {
        const { scriptId, versionHash, decision, comment } = parseData(DecideScriptData, event.data);
        const to: ScriptStatus = decision === 'approve' ? 'approved' : 'draft';
        return this.moveScript(event, principal, { scriptId, versionHash, from: 'testing', to, comment }, correlationId);
      }
      case 'change-script-status':
        return this.moveScript(event, principal, parseData(MoveScriptData, event.data), correlationId);
      default:
        throw new DeputyError('DEPUTY_E_BAD_REQUEST', { detail: `unknown verb ${String((event as { verb: unknown }).verb)}` });
    }
  }

  private async actionList(principal: PrincipalView, correlationId: string): Promise<Screen> {
    const actions = await this.options.executor.listActions(principal.id, { correlationId });
    return { screen: 'action-list', principal, actions };
  }

  private async scriptList(principal: PrincipalView, status: ScriptStatus | undefined, correlationId: string): Promise<Screen> {
    const scripts = await this.options.executor.listScripts(principal.id, status, { correlationId });
    const statuses = status ? [status] : (['testing', 'draft', 'approved'] as const);
    return {
      screen: 'item-list',
      heading: status ? `${STATUS_WORDS[status]} scripts` : 'Scripts',
      sections: statuses.map((each) => ({ title: STATUS_WORDS[each], items: scripts.filter((script) => script.status === each).map(scriptItem) })),
      emptyText: status ? `No ${STATUS_WORDS[status]} scripts you may see.` : 'There are no scripts you may see.',
      refresh: { verb: 'show-scripts', data: status ? { status } : {} },
    };
  }

  private async approvalList(principal: PrincipalView, correlationId: string): Promise<Screen> {
    const { scripts, runs } = await this.options.executor.listApprovals(principal.id, { correlationId });
    return {
      screen: 'item-list',
      heading: 'Waiting for your decision',
      sections: [
        { title: 'Scripts to review', items: scripts.map(scriptItem) },
        {
          title: 'Runs to approve',
          items: runs.map((run): ListItem => ({
            title: run.actionTitle,
            detail: `Requested by ${run.principalId}${run.approval?.expiresAt ? ` · expires ${run.approval.expiresAt.slice(0, 16).replace('T', ' ')} UTC` : ''}`,
            open: { verb: 'refresh-run', data: { runId: run.id } },
          })),
        },
      ],
      emptyText: 'Nothing waits for your decision.',
      refresh: { verb: 'show-approvals', data: {} },
    };
  }

  /** The review card for the viewer the view was fetched for: buttons only where the executor says they may act. */
  private scriptScreen(view: ScriptView): Screen {
    const viewerMayDecide = view.status === 'testing' && view.allowedTransitions.includes('approved');
    return { screen: 'script-review', review: toScriptReview(view), viewerMayDecide };
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
      return this.scriptScreen(view);
    } catch (error) {
      // Decided by someone else first, or the text changed: the current card says what happened.
      if (!isDeputyError(error) || error.code !== 'DEPUTY_E_CONFLICT') throw error;
      return this.scriptScreen(await executor.getScript(move.scriptId, principal.id, call));
    }
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
    const values = data.values === undefined ? readFormValues(action.form, event.data) : normalizeFormValues(action.form, data.values);
    // The target field is not a script parameter: its choice is where the run goes.
    const { [TARGET_FIELD]: target, ...inputs } = values;
    const { conversation, messageId } = event;
    let created;
    try {
      created = await executor.createRun(
        {
          actionId: action.id,
          principalId: principal.id,
          ...(typeof target === 'string' || Array.isArray(target) ? { target } : {}),
          inputs,
          origin: { kind: conversation.channel, conversationId: conversation.conversationId, threadId: conversation.threadId, messageId },
        },
        { correlationId },
      );
    } catch (error) {
      if (isDeputyError(error) && error.code === 'DEPUTY_E_VALIDATION') {
        const errors = error.fields && Object.keys(error.fields).length > 0 ? error.fields : { _form: ERRORS.DEPUTY_E_VALIDATION.message };
        return { screen: 'action-form', action, values: valuesToKeep(action.form, values), errors };
      }
      throw error;
    }
    const run = created.run ?? (await executor.getRun(created.id, { correlationId, principal: principal.id }));
    const screen = this.screenFor(run, principal.id);
    // The edge shows `immediate` in place of the form's message, which now shows the run; the
    // run's origin (kept by the executor) names that message, so there is nothing to write here.
    if (messageId !== undefined) return screen;
    // No card to replace (a modal, a typed command): the core posts the status itself, so it knows the message to update.
    this.defer(async () => {
      const posted = await this.port(conversation.channel).post(conversation, this.screenFor(await executor.getRun(run.id, { correlationId, principal: principal.id }), principal.id));
      await conversations.rememberRunMessage(run.id, { channel: conversation.channel, conversationId: conversation.conversationId, messageId: posted, viewer: principal.id });
    });
    return { screen: 'notice', text: `Submitted "${action.title}". Its progress and result follow in this conversation.` };
  }

  private async postOutput(conversation: ConversationRef, run: RunView, viewer: string, correlationId: string): Promise<void> {
    const content = await this.options.executor.getRunOutput(run.id, { correlationId, principal: viewer });
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

  private onExecutorEvent(event: ExecutorEventMessage): void {
    if ('run' in event) this.onRunEvent(event);
    else if ('script' in event) this.chain(`script:${event.script.id}`, event.type, () => this.applyScriptEvent(event));
    else this.chain(`plan:${event.plan.id}`, event.type, () => this.reportMissedPlan(event));
  }

  /** Scheduled runs missed while Deputy was down are not made up; the people the plan names are told. */
  private async reportMissedPlan(event: PlanEvent): Promise<void> {
    const { plan, missed } = event;
    const times = missed.count === 1 ? `its run due at ${missed.first}` : `${missed.count} runs due between ${missed.first} and ${missed.last}`;
    const text = `The scheduled plan "${plan.id}" (action ${plan.actionId}) missed ${times} while Deputy was not running. They were not run late; the schedule carries on.`;
    await Promise.all(event.notify.map((principalId) => this.notifyScreen(principalId, { screen: 'notice', text })));
  }

  private onRunEvent(event: RunEvent): void {
    if (event.type === 'run.created') return;
    this.chain(event.run.id, event.type, () => this.applyRunEvent(event));
  }

  /** Applies events about one subject one after another, in the order the executor sent them. */
  private chain(key: string, type: string, apply: () => Promise<void>): void {
    const previous = this.runChains.get(key) ?? Promise.resolve();
    const next = previous
      .then(apply)
      .catch((error: unknown) => this.log.warn({ subject: key, type, err: error instanceof Error ? error.message : String(error) }, 'executor event not delivered'))
      .finally(() => {
        if (this.runChains.get(key) === next) this.runChains.delete(key);
      });
    this.runChains.set(key, next);
  }

  /**
   * A review request reaches every approver as a card of their own (remembered, so it is
   * updated in place once decided); a decision updates those cards everywhere and tells the
   * person who asked for the review.
   */
  private async applyScriptEvent(event: ScriptEvent): Promise<void> {
    const { script, change } = event;
    const requester = script.review?.requestedBy;
    await Promise.all(
      event.notify.map(async (principalId) => {
        const key = reviewCardKey(script.id, change.hash, principalId);
        const remembered = this.options.conversations.runMessage(key);
        // A new review request is a new card, even for a hash reviewed before; only the card the
        // requester pressed (remembered just now) is updated in place.
        const shown = event.type === 'script.review-requested' && principalId !== change.by ? undefined : remembered;
        if (event.type === 'script.decided' && principalId === requester && principalId !== change.by) {
          await this.notifyScreen(principalId, { screen: 'notice', text: decisionSentence(script, change) });
        }
        if (!shown && event.type === 'script.decided') return;
        const screen = this.scriptScreen(await this.options.executor.getScript(script.id, principalId));
        if (shown) {
          const ref = this.options.conversations.conversation(shown.channel, shown.conversationId) ?? { channel: shown.channel, conversationId: shown.conversationId };
          await this.port(shown.channel).update(ref, shown.messageId, screen);
          return;
        }
        const posted = await this.notifyScreen(principalId, screen);
        if (posted) await this.options.conversations.rememberRunMessage(key, { ...posted, viewer: principalId });
      }),
    );
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
        this.defer(() => this.postOutput(ref, run, tracked.viewer, run.correlationId));
      }
    }
    if (event.type === 'approval.requested') {
      // Every approver gets a card of their own, remembered so a decision updates it in place.
      await this.options.conversations.rememberApprovers(run.id, event.notify);
      await Promise.all(
        event.notify
          .filter((principalId) => principalId !== tracked?.viewer)
          .map(async (principalId) => {
            const posted = await this.notifyScreen(principalId, this.screenFor(run, principalId));
            if (posted) await this.options.conversations.rememberRunMessage(approvalCardKey(run.id, principalId), { ...posted, viewer: principalId });
          }),
      );
    } else if (run.state !== 'awaiting-approval') {
      await this.updateApprovalCards(run, tracked?.viewer);
    }
    if (event.type === 'run.finished') {
      await Promise.all(event.notify.filter((principalId) => principalId !== tracked?.viewer).map((principalId) => this.notify(principalId, run)));
    }
  }

  /** Once a run leaves `awaiting-approval`, the approval cards sent to approvers show the outcome. */
  private async updateApprovalCards(run: RunView, requesterViewer: string | undefined): Promise<void> {
    const approvers = this.options.conversations.approversOf(run.id);
    if (!approvers) return;
    await this.options.conversations.forgetApprovers(run.id);
    await Promise.all(
      approvers
        .filter((principalId) => principalId !== requesterViewer)
        .map(async (principalId) => {
          const shown = this.options.conversations.runMessage(approvalCardKey(run.id, principalId));
          if (!shown) return;
          const ref = this.options.conversations.conversation(shown.channel, shown.conversationId) ?? { channel: shown.channel, conversationId: shown.conversationId };
          await this.port(shown.channel).update(ref, shown.messageId, { screen: 'approval-request', run, requester: run.principalId, viewerMayDecide: false });
        }),
    );
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
    await this.notifyScreen(principalId, this.screenFor(run, principalId));
  }

  /** Posts a screen proactively; answers where it went, or `undefined` when the person cannot be reached. */
  private async notifyScreen(principalId: string, screen: Screen): Promise<{ channel: Channel; conversationId: string; messageId: string } | undefined> {
    const last = this.options.conversations.lastConversationOf(principalId);
    if (!last) {
      this.log.info({ principalId, screen: screen.screen }, 'no conversation known for this principal; notification not sent');
      return undefined;
    }
    const port = this.ports.get(last.channel);
    if (!port) {
      this.log.info({ principalId, channel: last.channel }, 'channel is off; notification not sent');
      return undefined;
    }
    const { threadId: _thread, ...topLevel } = last;
    const messageId = await port.post(topLevel, screen);
    return { channel: last.channel, conversationId: last.conversationId, messageId };
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

function scriptItem(script: ScriptView): ListItem {
  const waiting = script.status === 'testing' && script.review && !script.review.decision ? ` · submitted by ${script.review.requestedByName ?? script.review.requestedBy}` : '';
  return {
    title: script.name,
    detail: `${STATUS_WORDS[script.status]} · version ${script.currentHash.slice(0, 12)} · tenant ${script.tenant}${waiting}`,
    open: { verb: 'show-script', data: { scriptId: script.id } },
  };
}

/** The executor's view of a script as the review card's neutral form. */
export function toScriptReview(view: ScriptView): ScriptReview {
  const review = view.review;
  // A decision belongs on the card while the script still has the status it decided.
  const decision = review?.decision && review.decision.to === view.status && view.status !== 'testing' ? review.decision : undefined;
  const moves = view.allowedTransitions.filter((to) => view.status !== 'testing' || (to !== 'approved' && to !== 'draft'));
  return {
    scriptId: view.id,
    name: view.name,
    ...(view.description ? { description: view.description } : {}),
    tenant: view.tenant,
    status: view.status,
    versionHash: view.currentHash,
    ...(review ? { submittedBy: review.requestedByName ?? review.requestedBy } : {}),
    ...(review?.comment ? { submitComment: review.comment } : {}),
    parameters: view.parameters,
    ...(view.diff && view.diff.lines.length > 0
      ? { diff: { lines: view.diff.lines, truncated: view.diff.truncated, against: view.diff.againstHash ? `approved ${view.diff.againstHash.slice(0, 12)}` : 'nothing (never approved)' } }
      : {}),
    ...(view.versions ? { versions: view.versions.map((version) => ({ hash: version.hash, status: version.status })) } : {}),
    ...(decision
      ? { decision: { decision: decision.to === 'approved' ? ('approve' as const) : ('reject' as const), decidedBy: decision.byName ?? decision.by, ...(decision.comment ? { comment: decision.comment } : {}) } }
      : {}),
    moves,
  };
}

/** "Cyra approved Set out-of-office (version 1a2b3c4d5e6f)." */
function decisionSentence(script: ScriptView, change: ScriptEvent['change']): string {
  const who = change.byName ?? change.by;
  const what = change.to === 'approved' ? 'approved' : change.to === 'draft' ? 'sent back to Draft' : `moved to ${STATUS_WORDS[change.to]}`;
  const comment = change.comment ? ` Comment: “${change.comment}”` : '';
  return `${who} ${what} the script “${script.name}” (version ${change.hash.slice(0, 12)}).${comment}`;
}
