/**
 * The e-mail connector's decisions. A message from an allowed sender whose subject names one of
 * the connector's actions starts a run through the run service as the connector's bound
 * principal (origin `mail`, via `mail:<id>`), so the policy and the inputs are checked like for
 * any request. Everything else gets a reply saying why, and starts nothing. When the run ends,
 * its masked result is mailed back to the sender. Every decision and every reply is audited;
 * parameter values never are (only their names).
 */
import type { Logger } from 'pino';
import { newCorrelationId } from '../../lib/ids.ts';
import { DeputyError, type CreateRunRequest, type RunView } from '../contract/index.ts';
import type { Connector, RunRecord } from '../domain.ts';
import type { EventBus } from '../events.ts';
import { resolveActionVersion } from '../policy/versions.ts';
import type { RequestContext } from '../runs/service.ts';
import { askedFields } from '../runs/views.ts';
import type { AuditLog, CatalogStore } from '../store/port.ts';
import type { MailLedgerRecords } from '../store/state-port.ts';
import { actionFromSubject, inputsFromBody } from './command.ts';
import { refusalText, replySubject, resultText, type OutgoingMail, type Refusal } from './replies.ts';
import { normalizeAddress, senderAllowList } from './senders.ts';

/** One message as the SMTP listener received and parsed it. */
export interface InboundMail {
  connectorId: string;
  /** The envelope's MAIL FROM; empty for bounces. */
  envelopeFrom: string;
  /** The envelope recipient: the mailbox address, used as the From of the answer. */
  recipient: string;
  /** The address in the From header. */
  from: string | undefined;
  messageId: string | undefined;
  subject: string;
  text: string;
  /** The Auto-Submitted header (RFC 3834), if any. */
  autoSubmitted: string | undefined;
  remoteAddress: string | undefined;
}

export type MailOutcome =
  | { kind: 'run'; runId: string; correlationId: string }
  | { kind: 'refused'; code: string; correlationId: string }
  | { kind: 'ignored'; reason: string; correlationId: string };

export interface MailSender {
  send(connectorId: string, mail: OutgoingMail): Promise<void>;
}

export interface MailServiceOptions {
  catalog: Pick<CatalogStore, 'snapshot' | 'getAction' | 'getScript' | 'getVersion'>;
  audit: AuditLog;
  runs: { create(request: CreateRunRequest, context: RequestContext): Promise<RunRecord> };
  events: EventBus;
  ledger: MailLedgerRecords;
  sender: MailSender;
  logger: Logger;
}

/** A Message-ID longer than this cannot be the run's origin id. */
const MAX_MESSAGE_ID = 500;

export function mailVia(connectorId: string): string {
  return `mail:${connectorId}`;
}

export class MailConnectorService {
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Messages being handled, so a run that ends very fast still finds whom to answer. */
  private readonly handling = new Map<string, Promise<MailOutcome>>();
  private readonly unsubscribe: () => void;

  constructor(private readonly options: MailServiceOptions) {
    this.unsubscribe = options.events.subscribe((event) => {
      if (event.type !== 'run.finished' || event.run.origin.kind !== 'mail') return;
      this.track(this.mailResult(event.run));
    });
  }

  connector(id: string): Connector | undefined {
    return this.options.catalog.snapshot().connectors?.find((candidate) => candidate.id === id && candidate.kind === 'mail');
  }

  handle(mail: InboundMail): Promise<MailOutcome> {
    const work = this.decide(mail);
    if (mail.messageId !== undefined) {
      const key = mail.messageId;
      this.handling.set(key, work);
      void work.finally(() => {
        if (this.handling.get(key) === work) this.handling.delete(key);
      }).catch(() => undefined);
    }
    return work;
  }

  /** Stops answering finished runs and waits for replies under way. */
  async close(): Promise<void> {
    this.unsubscribe();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async decide(mail: InboundMail): Promise<MailOutcome> {
    const correlationId = newCorrelationId();
    const connector = this.connector(mail.connectorId);
    const from = normalizeAddress(mail.from);
    const envelopeFrom = normalizeAddress(mail.envelopeFrom);
    const audit = (outcome: 'allowed' | 'denied', detail: Record<string, unknown>) =>
      this.options.audit.append({
        type: 'mail.message',
        outcome,
        correlationId,
        actor: mailVia(mail.connectorId),
        via: mailVia(mail.connectorId),
        subject: mail.connectorId,
        detail: { messageId: mail.messageId ?? null, sender: from ?? envelopeFrom ?? null, source: mail.remoteAddress ?? null, ...detail },
      });
    const ignore = async (reason: string): Promise<MailOutcome> => {
      await audit('denied', { reason, replied: false });
      return { kind: 'ignored', reason, correlationId };
    };
    // Answering a bounce or an auto-reply could start a mail loop: these are recorded, not answered.
    if (!connector) return ignore('unknown mail connector');
    if (!envelopeFrom) return ignore('no envelope sender (a bounce)');
    if (mail.autoSubmitted !== undefined && mail.autoSubmitted.trim().toLowerCase() !== 'no') return ignore(`automatic message (Auto-Submitted: ${mail.autoSubmitted})`);

    // The answer goes to the address the envelope and the From header agree on; a message where
    // they differ is answered at the envelope sender, as a bounce would be.
    const replyTo = from === envelopeFrom ? from : envelopeFrom;
    const original = { connector, replyTo, mailbox: mail.recipient, subject: mail.subject, messageId: mail.messageId ?? '' };
    const refuse = async (code: string, refusal: Refusal, detail: Record<string, unknown> = {}): Promise<MailOutcome> => {
      await audit('denied', { code, reason: refusal.reason, ...detail, replied: true });
      this.track(this.reply(original, refusalText(refusal, correlationId), correlationId, 'refusal'));
      return { kind: 'refused', code, correlationId };
    };

    if (!mail.messageId || mail.messageId.length > MAX_MESSAGE_ID) return refuse('DEPUTY_E_BAD_REQUEST', { reason: 'The message has no usable Message-ID header.' });
    if (!(await this.options.ledger.claim({ connector: connector.id, messageId: mail.messageId, replyTo, mailbox: mail.recipient, subject: mail.subject }))) {
      return ignore('repeated Message-ID: already handled');
    }
    if (from !== envelopeFrom) return refuse('DEPUTY_E_FORBIDDEN', { reason: 'The From address does not match the envelope sender.' }, { from: from ?? null });
    if (!senderAllowList(connector.allowSenders ?? []).allows(from)) return refuse('DEPUTY_E_FORBIDDEN', { reason: 'Your address is not allowed to use this mailbox.' });

    const actionId = actionFromSubject(mail.subject);
    if (actionId === undefined || !connector.actions.includes(actionId)) {
      const reason = actionId === undefined ? 'The subject does not name an action.' : `"${actionId}" is not one of this mailbox's actions.`;
      return refuse('DEPUTY_E_NOT_FOUND', { reason, actions: connector.actions }, { actionId: actionId ?? null });
    }
    const inputs = inputsFromBody(mail.text, this.parameterNames(actionId));
    try {
      const run = await this.options.runs.create(
        { actionId, principalId: connector.principal, inputs, origin: { kind: 'mail', conversationId: mail.messageId } },
        { correlationId, via: mailVia(connector.id) },
      );
      await this.options.ledger.attachRun(connector.id, mail.messageId, run.id);
      await audit('allowed', { actionId, runId: run.id, parameters: Object.keys(inputs) });
      return { kind: 'run', runId: run.id, correlationId };
    } catch (error) {
      if (!(error instanceof DeputyError)) {
        this.options.logger.error({ err: error, connector: connector.id, correlationId }, 'mail could not start a run');
        return refuse('DEPUTY_E_INTERNAL', { reason: 'Something went wrong on our side.' }, { actionId });
      }
      // The registry's message for the sender; the run service already audited the detail.
      return refuse(error.code, { reason: error.message, ...(error.fields ? { fields: error.fields } : {}) }, { actionId, parameters: Object.keys(inputs), ...(error.fields ? { fields: Object.keys(error.fields) } : {}) });
    }
  }

  /** The action's parameters a sender may give (not fixed, not bound to stored credentials). */
  private parameterNames(actionId: string): string[] {
    const { catalog } = this.options;
    const action = catalog.getAction(actionId);
    const script = action && catalog.getScript(action.scriptId);
    const resolution = action && script ? resolveActionVersion(action, script) : undefined;
    const version = resolution?.ok ? catalog.getVersion(resolution.hash) : undefined;
    if (!action || !version) return [];
    return askedFields(action, version)
      .map((field) => field.name)
      .filter((name) => !(name in (action.credentials ?? {})));
  }

  private async mailResult(run: RunView): Promise<void> {
    const messageId = run.origin.conversationId;
    if (messageId !== undefined) await this.handling.get(messageId)?.catch(() => undefined);
    const entry = await this.options.ledger.forRun(run.id);
    const connector = entry && this.connector(entry.connector);
    if (!entry || !connector) return;
    await this.reply({ connector, replyTo: entry.replyTo, mailbox: entry.mailbox, subject: entry.subject, messageId: entry.messageId }, resultText(run), run.correlationId, 'result', run.id);
  }

  private async reply(
    original: { connector: Connector; replyTo: string; mailbox: string; subject: string; messageId: string },
    text: string,
    correlationId: string,
    kind: 'refusal' | 'result',
    runId?: string,
  ): Promise<void> {
    const record = (outcome: 'info' | 'error', detail: Record<string, unknown>) =>
      this.options.audit.append({
        type: 'mail.reply',
        outcome,
        correlationId,
        actor: mailVia(original.connector.id),
        via: mailVia(original.connector.id),
        subject: runId ?? original.connector.id,
        detail: { kind, to: original.replyTo, inReplyTo: original.messageId, ...detail },
      });
    try {
      await this.options.sender.send(original.connector.id, {
        from: original.mailbox,
        to: original.replyTo,
        subject: replySubject(original.subject),
        inReplyTo: original.messageId,
        text,
        correlationId,
      });
      await record('info', {});
    } catch (error) {
      this.options.logger.warn({ err: error, connector: original.connector.id, correlationId }, 'mail reply could not be sent');
      await record('error', { reason: (error as Error).message });
    }
  }

  private track(work: Promise<unknown>): void {
    const guarded = work.catch((error: unknown) => this.options.logger.error({ err: error }, 'mail connector task failed'));
    this.inFlight.add(guarded);
    void guarded.finally(() => this.inFlight.delete(guarded));
  }
}
