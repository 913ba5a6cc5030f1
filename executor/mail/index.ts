/** Wires the e-mail connectors: the decisions over the backend's Message-ID ledger, one SMTP listener each and the reply relays. */
import type { Logger } from 'pino';
import type { Connector, MailEndpoint } from '../domain.ts';
import type { EventBus } from '../events.ts';
import type { RunService } from '../runs/service.ts';
import type { ExecutorStore, MailLedgerRecords } from '../store/state-port.ts';
import { MailListener } from './listener.ts';
import { ReplySender } from './replies.ts';
import { MailConnectorService } from './service.ts';

export { MailConnectorService, mailVia, type InboundMail, type MailOutcome } from './service.ts';
export { actionFromSubject, inputsFromBody } from './command.ts';

export const MAIL_LEDGER_FILE = 'mail-messages.jsonl';

export interface MailConnectors {
  service: MailConnectorService;
  /** Where a mail connector's listener is bound (its real port when the catalog says 0). */
  address(connectorId: string): MailEndpoint | undefined;
  close(): Promise<void>;
}

type MailConnector = Connector & { listen: MailEndpoint; replyVia: MailEndpoint };

function isMailConnector(connector: Connector): connector is MailConnector {
  return connector.kind === 'mail' && connector.listen !== undefined && connector.replyVia !== undefined;
}

export async function startMailConnectors(options: {
  store: ExecutorStore;
  runs: Pick<RunService, 'create'>;
  events: EventBus;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** Every message handled, by Message-ID: the backend's, shared by every executor of a cluster. */
  ledger: MailLedgerRecords;
  maxMessageBytes?: number;
}): Promise<MailConnectors> {
  const { store, logger, ledger } = options;
  const connectors = (store.catalog.snapshot().connectors ?? []).filter(isMailConnector);
  const relays = new Map(connectors.map((connector) => [connector.id, new ReplySender(connector.replyVia)]));
  const service = new MailConnectorService({
    catalog: store.catalog,
    audit: store.audit,
    runs: options.runs,
    events: options.events,
    ledger,
    logger,
    sender: {
      async send(connectorId, mail) {
        const relay = relays.get(connectorId);
        if (!relay) throw new Error(`no reply relay for mail connector ${connectorId}`);
        await relay.send(mail);
      },
    },
  });

  const listeners: MailListener[] = [];
  const addresses = new Map<string, MailEndpoint>();
  for (const connector of connectors) {
    try {
      const listener = new MailListener({ connector, handle: (mail) => service.handle(mail), env: options.env, logger, ...(options.maxMessageBytes ? { maxMessageBytes: options.maxMessageBytes } : {}) });
      addresses.set(connector.id, await listener.listen());
      listeners.push(listener);
      logger.info({ connector: connector.id, ...addresses.get(connector.id) }, 'mail connector listening');
    } catch (error) {
      // One mailbox that cannot listen (port taken) must not keep the executor from starting.
      logger.error({ err: error, connector: connector.id }, 'mail connector cannot listen; its messages are not received');
    }
  }

  return {
    service,
    address: (connectorId) => addresses.get(connectorId),
    async close() {
      await Promise.all(listeners.map((listener) => listener.close()));
      await service.close();
      for (const relay of relays.values()) relay.close();
    },
  };
}
