/**
 * Mail test kit: the automation catalog plus a mail connector (its reply relay pointed at a
 * recording SMTP sink), a real smtp-server sink, and a nodemailer client that sends to the
 * executor's listener. Everything speaks real SMTP on loopback.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { createTransport } from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { parse, stringify } from 'yaml';
import { PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import { prepareAutomationCatalog, type AutomationCatalog } from '../connectors/fixture.ts';

export const MAILBOX = 'deputy@mail.contoso.example';

export interface ReceivedMail {
  envelopeFrom: string;
  recipients: string[];
  raw: string;
  parsed: ParsedMail;
}

/** A real SMTP server that records every message it is given (the reply relay). */
export class MailSink {
  readonly received: ReceivedMail[] = [];
  private readonly server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    closeTimeout: 1000,
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            this.received.push({
              envelopeFrom: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
              recipients: session.envelope.rcptTo.map((recipient) => recipient.address),
              raw: raw.toString('utf8'),
              parsed,
            });
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });

  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  repliesTo(messageId: string): ReceivedMail[] {
    return this.received.filter((mail) => mail.parsed.inReplyTo === messageId);
  }

  async waitForReply(messageId: string, timeoutMs = 20_000): Promise<ReceivedMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [reply] = this.repliesTo(messageId);
      if (reply) return reply;
      if (Date.now() > deadline) throw new Error(`no reply to ${messageId} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** The automation catalog with a secret-taking script, an action the mail principal may not run, and a mail connector. */
export function prepareMailCatalog(relayPort: number, connector: Record<string, unknown> = {}): AutomationCatalog {
  const catalog = prepareAutomationCatalog();
  copyFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'catalog', 'scripts', 'Secret.ps1'), join(catalog.folder, 'scripts', 'Secret.ps1'));
  const file = join(catalog.folder, 'catalog.yaml');
  const document = parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>[]>;
  document.principals?.push({ id: 'mail-bot', name: 'Mailbox', tenant: 'hamburg', roles: ['administrator'] });
  document.scripts?.push({ id: 'secret', file: 'scripts/Secret.ps1', tenant: 'hamburg', status: 'approved' });
  document.actions?.push(
    { id: 'secret', script: 'secret', title: 'Use a secret', runAs: 'pool', allow: { roles: ['administrator'] }, timeoutSeconds: 30 },
    { id: 'echo-admins', script: 'echo', title: 'Echo for company admins', runAs: 'pool', allow: { roles: ['company-admin'] }, timeoutSeconds: 30 },
  );
  document.connectors?.push({
    id: 'mailbox',
    kind: 'mail',
    principal: 'mail-bot',
    actions: ['echo', 'secret', 'echo-admins'],
    allowSenders: ['alice@contoso.example', '@ops.contoso.example'],
    listen: { host: '127.0.0.1', port: 0 },
    replyVia: { host: '127.0.0.1', port: relayPort },
    ...connector,
  });
  writeFileSync(file, stringify(document));
  return catalog;
}

export interface OutgoingTestMail {
  from: string;
  subject: string;
  text: string;
  messageId?: string;
  /** Envelope sender, when it should differ from `from`. */
  envelopeFrom?: string;
  headers?: Record<string, string>;
  auth?: { user: string; pass: string };
}

/** Sends one message to the executor's listener the way a mail server would (real SMTP). */
export async function sendMail(port: number, mail: OutgoingTestMail): Promise<string> {
  const transport = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, ...(mail.auth ? { auth: mail.auth } : {}) });
  try {
    const info = await transport.sendMail({
      from: mail.from,
      to: MAILBOX,
      subject: mail.subject,
      text: mail.text,
      ...(mail.messageId ? { messageId: mail.messageId } : {}),
      ...(mail.envelopeFrom !== undefined ? { envelope: { from: mail.envelopeFrom, to: MAILBOX } } : {}),
      ...(mail.headers ? { headers: mail.headers } : {}),
    });
    return info.messageId;
  } finally {
    transport.close();
  }
}
