/**
 * The run follower: applies the executor's events, in the order it sent them, per subject. A
 * run's card is updated in place (and its output posted when it ends), approvers get cards of
 * their own and see the outcome, whoever a run names is told when it ends, review requests
 * reach the script approvers, and missed scheduled runs are reported.
 */
import {
  isFinalRunState,
  type Channel,
  type ExecutorEventMessage,
  type PlanEvent,
  type RunEvent,
  type RunView,
  type ScriptEvent,
} from '../../executor/contract/index.ts';
import type { Logger } from '../../lib/logger.ts';
import type { RunMessage } from './conversation-store.ts';
import type { SharedConversationStore } from '../store/port.ts';
import type { ExecutorApi } from './executor-api.ts';
import type { ConversationPort, ConversationRef, Screen } from './model.ts';
import { confirmCancelScreen, decisionSentence, hasMoreOutput, scriptScreen, screenFor } from './presenter.ts';

/** Keys under which the conversation store remembers the review card each person was shown. */
export function reviewCardKey(scriptId: string, hash: string, principalId: string): string {
  return `script-review:${scriptId}:${hash}:${principalId}`;
}
function approvalCardKey(runId: string, principalId: string): string {
  return `run-approval:${runId}:${principalId}`;
}

/** One message in one conversation, as a key. */
export function messageKey(channel: Channel, conversationId: string, messageId: string): string {
  return `${channel}:${conversationId}:${messageId}`;
}

export function isChannel(kind: string): kind is Channel {
  return kind === 'teams' || kind === 'slack' || kind === 'webchat';
}

/** What the follower needs of the core it works for. */
export interface RunFollowerHost {
  executor: ExecutorApi;
  conversations: SharedConversationStore;
  log: Logger;
  /** The port of a channel whose edge is attached. */
  portOf(channel: Channel): ConversationPort | undefined;
  /** Resolves once the answer being shown in that conversation (if any) is shown. */
  answered(channel: Channel, conversationId: string): Promise<void>;
  /**
   * Resolves once no one's answer is being prepared, or a short while after it is called,
   * whichever comes first: an answer a chat platform waits for goes before card updates.
   */
  answersFirst(): Promise<void>;
  /** Work after the event is applied (the output file). */
  defer(task: () => Promise<void>): void;
  postOutput(conversation: ConversationRef, run: RunView, viewer: string, correlationId: string): Promise<void>;
  /** A ScriptRunner script's HTML report, as a file. */
  postHtml(conversation: ConversationRef, run: RunView, viewer: string, correlationId: string): Promise<void>;
  labelsOf(run: RunView, correlationId: string): Promise<{ labels?: Record<string, string> }>;
}

export class RunFollower {
  /** Executor events are applied one after another per run (or script), in the order the executor sent them. */
  private readonly runChains = new Map<string, Promise<void>>();

  constructor(private readonly host: RunFollowerHost) {}

  /** Resolves when every event received so far has been applied. */
  async idle(): Promise<void> {
    while (this.runChains.size > 0) await Promise.allSettled([...this.runChains.values()]);
  }

  onEvent(event: ExecutorEventMessage): void {
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

  /**
   * Applies events about one subject one after another, in the order the executor sent them,
   * each once the answers being prepared when it arrived are out (or it has waited long enough):
   * under a burst of submissions, Teams must have its invoke answers within seconds, while an
   * update of a card someone already sees can come a moment later (issue 12, item 8).
   */
  private chain(key: string, type: string, apply: () => Promise<void>): void {
    const previous = this.runChains.get(key) ?? Promise.resolve();
    const answersOut = this.host.answersFirst();
    const next = Promise.all([previous, answersOut])
      .then(apply)
      .catch((error: unknown) => this.host.log.warn({ subject: key, type, err: error instanceof Error ? error.message : String(error) }, 'executor event not delivered'))
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
        const remembered = await this.host.conversations.runMessage(key);
        // A new review request is a new card, even for a hash reviewed before; only the card the
        // requester pressed (remembered just now) is updated in place.
        const shown = event.type === 'script.review-requested' && principalId !== change.by ? undefined : remembered;
        if (event.type === 'script.decided' && principalId === requester && principalId !== change.by) {
          await this.notifyScreen(principalId, { screen: 'notice', text: decisionSentence(script, change) });
        }
        if (!shown && event.type === 'script.decided') return;
        const screen = scriptScreen(await this.host.executor.getScript(script.id, principalId));
        if (shown) {
          const ref = (await this.host.conversations.conversation(shown.channel, shown.conversationId)) ?? { channel: shown.channel, conversationId: shown.conversationId };
          await this.port(shown.channel).update(ref, shown.messageId, screen);
          return;
        }
        const posted = await this.notifyScreen(principalId, screen);
        if (posted) await this.host.conversations.rememberRunMessage(key, { ...posted, viewer: principalId });
      }),
    );
  }

  private async applyRunEvent(event: RunEvent): Promise<void> {
    const { run } = event;
    const origin = run.origin.conversationId !== undefined && isChannel(run.origin.kind)
      ? { channel: run.origin.kind, conversationId: run.origin.conversationId }
      : undefined;
    // An answer still being shown in that conversation goes first; this update must not be overwritten by it.
    if (origin) await this.host.answered(origin.channel, origin.conversationId);
    const tracked = await this.trackedMessage(run);
    // Approval cards show the form's labels; fetched once for every card this event updates.
    const { labels } = run.approval?.required ? await this.host.labelsOf(run, run.correlationId) : {};
    if (tracked) {
      const ref = (await this.host.conversations.conversation(tracked.channel, tracked.conversationId))
        ?? { channel: tracked.channel, conversationId: tracked.conversationId, threadId: run.origin.threadId };
      const asking = messageKey(tracked.channel, tracked.conversationId, tracked.messageId);
      if (isFinalRunState(run.state)) await this.host.conversations.setAskingToCancel(asking, false);
      const screen = !isFinalRunState(run.state) && run.state !== 'awaiting-approval' && (await this.host.conversations.isAskingToCancel(asking))
        ? confirmCancelScreen(run, tracked.viewer)
        : screenFor(run, tracked.viewer, labels);
      await this.port(tracked.channel).update(ref, tracked.messageId, screen);
      if (event.type === 'run.finished' && hasMoreOutput(run)) {
        this.host.defer(() => this.host.postOutput(ref, run, tracked.viewer, run.correlationId));
      }
      if (event.type === 'run.finished' && run.summary?.html) {
        this.host.defer(() => this.host.postHtml(ref, run, tracked.viewer, run.correlationId));
      }
    }
    if (event.type === 'approval.requested') {
      // Every approver gets a card of their own, remembered so a decision updates it in place.
      await this.host.conversations.rememberApprovers(run.id, event.notify);
      await Promise.all(
        event.notify
          .filter((principalId) => principalId !== tracked?.viewer)
          .map(async (principalId) => {
            const posted = await this.notifyScreen(principalId, screenFor(run, principalId, labels));
            if (posted) await this.host.conversations.rememberRunMessage(approvalCardKey(run.id, principalId), { ...posted, viewer: principalId });
          }),
      );
    } else if (run.state !== 'awaiting-approval') {
      await this.updateApprovalCards(run, tracked?.viewer, labels);
    }
    if (event.type === 'run.finished') {
      await Promise.all(event.notify.filter((principalId) => principalId !== tracked?.viewer).map((principalId) => this.notify(principalId, run)));
    }
  }

  /** Once a run leaves `awaiting-approval`, the approval cards sent to approvers show the outcome. */
  private async updateApprovalCards(run: RunView, requesterViewer: string | undefined, labels: Record<string, string> | undefined): Promise<void> {
    const approvers = await this.host.conversations.approversOf(run.id);
    if (!approvers) return;
    await this.host.conversations.forgetApprovers(run.id);
    await Promise.all(
      approvers
        .filter((principalId) => principalId !== requesterViewer)
        .map(async (principalId) => {
          const shown = await this.host.conversations.runMessage(approvalCardKey(run.id, principalId));
          if (!shown) return;
          const ref = (await this.host.conversations.conversation(shown.channel, shown.conversationId)) ?? { channel: shown.channel, conversationId: shown.conversationId };
          await this.port(shown.channel).update(ref, shown.messageId, { screen: 'approval-request', run, requester: run.principalId, viewerMayDecide: false, ...(labels ? { labels } : {}) });
        }),
    );
  }

  /** The message that shows this run: remembered when it was shown, or named by the run's origin. */
  private async trackedMessage(run: RunView): Promise<RunMessage | undefined> {
    const remembered = await this.host.conversations.runMessage(run.id);
    if (remembered) return remembered;
    const { kind, conversationId, messageId } = run.origin;
    if (!isChannel(kind) || conversationId === undefined || messageId === undefined) return undefined;
    return { channel: kind, conversationId, messageId, viewer: run.principalId };
  }

  /** A proactive message in the principal's last conversation with the bot, at its top level. */
  private async notify(principalId: string, run: RunView): Promise<void> {
    await this.notifyScreen(principalId, screenFor(run, principalId));
  }

  /** Posts a screen proactively; answers where it went, or `undefined` when the person cannot be reached. */
  private async notifyScreen(principalId: string, screen: Screen): Promise<{ channel: Channel; conversationId: string; messageId: string } | undefined> {
    const last = await this.host.conversations.lastConversationOf(principalId);
    if (!last) {
      this.host.log.info({ principalId, screen: screen.screen }, 'no conversation known for this principal; notification not sent');
      return undefined;
    }
    const port = this.host.portOf(last.channel);
    if (!port) {
      this.host.log.info({ principalId, channel: last.channel }, 'channel is off; notification not sent');
      return undefined;
    }
    const { threadId: _thread, ...topLevel } = last;
    const messageId = await port.post(topLevel, screen);
    return { channel: last.channel, conversationId: last.conversationId, messageId };
  }

  private port(channel: Channel): ConversationPort {
    const port = this.host.portOf(channel);
    if (!port) throw new Error(`no edge attached for channel ${channel}`);
    return port;
  }
}
