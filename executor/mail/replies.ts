/**
 * The mails a connector sends back: a refusal (with the reason a sender can act on) or a run's
 * result. Bodies are built only from the masked run view and registry messages, so a secret
 * input can never travel this way. Every reply is marked `Auto-Submitted: auto-replied`
 * (RFC 3834) and threads under the original with In-Reply-To/References.
 */
import { createTransport, type Transporter } from 'nodemailer';
import type { RunView } from '../contract/index.ts';
import type { MailEndpoint } from '../domain.ts';

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  inReplyTo: string;
  text: string;
  correlationId: string;
}

export interface Refusal {
  reason: string;
  /** Field → problem, for inputs the action refused. */
  fields?: Record<string, string>;
  /** Shown to senders who may use the mailbox, so they can fix the subject. */
  actions?: readonly string[];
}

/** How many output lines a result mail carries; the full output stays downloadable from the executor. */
const MAX_RESULT_LINES = 50;

export function replySubject(subject: string): string {
  return /^re:/i.test(subject.trim()) ? subject.trim() : `Re: ${subject.trim()}`;
}

export function refusalText(refusal: Refusal, correlationId: string): string {
  const lines = ['Your message did not start a run.', '', `Reason: ${refusal.reason}`];
  const fields = Object.entries(refusal.fields ?? {});
  if (fields.length > 0) lines.push('', 'Fields to correct:', ...fields.map(([name, problem]) => `  ${name}: ${problem}`));
  if (refusal.actions?.length) {
    lines.push('', 'Name one of these actions in the subject, e.g. "Run <action>":', ...refusal.actions.map((id) => `  ${id}`));
    lines.push('Parameters go in the body, one "Name: value" per line.');
  }
  lines.push('', `Correlation id: ${correlationId}`);
  return `${lines.join('\n')}\n`;
}

export function resultText(run: RunView): string {
  const lines = [`Run ${run.id} of "${run.actionTitle}" (${run.actionId}): ${run.state}`];
  if (run.durationMs !== undefined) lines.push(`Duration: ${(run.durationMs / 1000).toFixed(1)} s`);
  lines.push(`Correlation id: ${run.correlationId}`);
  if (run.error) lines.push('', `Error: ${run.error.message} (${run.error.code})`);
  const summary = run.summary;
  if (summary) {
    const output = summary.lines.slice(0, MAX_RESULT_LINES);
    if (output.length > 0) lines.push('', 'Output:', ...output.map((line) => `  ${line}`));
    if (summary.lines.length > output.length || summary.outputLineCount > summary.lines.length || summary.truncated) {
      lines.push(`  … (${summary.outputLineCount} lines in all; the full output is kept on the executor)`);
    }
    if (summary.errors.length > 0) lines.push('', 'Errors:', ...summary.errors.map((line) => `  ${line}`));
    if (summary.warnings.length > 0) lines.push('', 'Warnings:', ...summary.warnings.map((line) => `  ${line}`));
  }
  return `${lines.join('\n')}\n`;
}

/** Sends replies through the connector's relay (`replyVia`). */
export class ReplySender {
  private readonly transport: Transporter;

  constructor(relay: MailEndpoint, timeoutMs = 10_000) {
    this.transport = createTransport({
      host: relay.host,
      port: relay.port,
      secure: false,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
    });
  }

  async send(mail: OutgoingMail): Promise<void> {
    await this.transport.sendMail({
      from: mail.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      inReplyTo: mail.inReplyTo,
      references: [mail.inReplyTo],
      headers: { 'Auto-Submitted': 'auto-replied', 'X-Deputy-Correlation-Id': mail.correlationId },
    });
  }

  close(): void {
    this.transport.close();
  }
}
