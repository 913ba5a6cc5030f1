/**
 * One SMTP listener per mail connector (smtp-server), for a local set-up: the organisation's
 * mail server forwards the mailbox here. There is no SPF/DKIM check, so it binds to loopback
 * unless senders must log in (`requireAuth`). A message is accepted (250) only after it was
 * decided and, when it starts one, its run was persisted; a failure answers 451 so the sending
 * server retries. Messages are read up to a size cap and parsed with mailparser.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { isLoopbackHost } from '../../lib/http-host.ts';
import type { Connector, MailEndpoint } from '../domain.ts';
import type { InboundMail, MailOutcome } from './service.ts';

export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;

export interface MailListenerOptions {
  connector: Connector & { listen: MailEndpoint };
  handle(mail: InboundMail): Promise<MailOutcome>;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  maxMessageBytes?: number;
}

export class MailListener {
  private readonly server: SMTPServer;

  constructor(private readonly options: MailListenerOptions) {
    const { connector } = options;
    if (!isLoopbackHost(connector.listen.host) && !connector.requireAuth) {
      throw new Error(`mail connector ${connector.id}: ${connector.listen.host} is not a loopback address and requireAuth is not set`);
    }
    const auth = connector.requireAuth;
    this.server = new SMTPServer({
      name: 'deputy',
      banner: 'Deputy mail connector',
      logger: false,
      size: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      maxClients: 20,
      closeTimeout: 2000,
      // No certificate is configured here: no STARTTLS rather than the library's test certificate.
      disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
      authOptional: !auth,
      allowInsecureAuth: true,
      onAuth: (login, _session, callback) => {
        const user = auth ? options.env[auth.userEnv] : undefined;
        const password = auth ? options.env[auth.passwordEnv] : undefined;
        if (!user || !password) {
          options.logger.error({ connector: connector.id }, 'mail connector login refused: its user or password variable is not set');
          callback(new Error('Authentication unavailable'));
          return;
        }
        if (login.method === 'XOAUTH2' || !sameSecret(login.username ?? '', user) || !sameSecret(login.password ?? '', password)) {
          callback(new Error('Invalid username or password'));
          return;
        }
        callback(null, { user: login.username });
      },
      onData: (stream, session, callback) => {
        this.receive(stream, session).then(
          () => callback(),
          (error: unknown) => {
            options.logger.error({ err: error, connector: connector.id }, 'mail could not be handled');
            const tooLarge = (error as { responseCode?: number }).responseCode === 552;
            callback(tooLarge ? (error as Error) : smtpError(451, 'Temporary failure, please try again later'));
          },
        );
      },
    });
    this.server.on('error', (error) => options.logger.warn({ err: error, connector: connector.id }, 'mail listener error'));
  }

  listen(): Promise<MailEndpoint> {
    const { host, port } = this.options.connector.listen;
    return new Promise((resolve, reject) => {
      this.server.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.server.off('error', reject);
        resolve({ host, port: (this.server.server.address() as AddressInfo).port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<void> {
    const limit = this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const chunks: Buffer[] = [];
    let size = 0;
    // The stream is always read to its end (the SMTP session needs that); only the cap is kept.
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size <= limit) chunks.push(chunk as Buffer);
    }
    if (stream.sizeExceeded) throw smtpError(552, 'Message too large');
    const parsed = await simpleParser(Buffer.concat(chunks));
    const autoSubmitted = parsed.headers.get('auto-submitted');
    const envelope = session.envelope;
    await this.options.handle({
      connectorId: this.options.connector.id,
      envelopeFrom: envelope.mailFrom === false ? '' : envelope.mailFrom.address,
      recipient: envelope.rcptTo[0]?.address ?? '',
      from: parsed.from?.value[0]?.address,
      messageId: parsed.messageId,
      subject: parsed.subject ?? '',
      text: parsed.text ?? '',
      autoSubmitted: typeof autoSubmitted === 'string' ? autoSubmitted : undefined,
      remoteAddress: session.remoteAddress,
    });
  }
}

function smtpError(responseCode: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode });
}

/** Constant-time comparison of two secrets of any length (their digests are compared). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
