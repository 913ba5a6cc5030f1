/** Contract-shaped data for the edge tests, and a stand-in core that answers from a script. */
import type { ActionView, PrincipalView, RunView } from '../../../executor/contract/index.ts';
import type { ChatUser, ConversationHandler, HandleResult, HomeOverview, Inbound } from '../../../bot/core/model.ts';

export const alex: PrincipalView = { id: 'alex', name: 'Alex (helpdesk)', tenant: 'hamburg', roles: ['administrator'] };
export const carla: PrincipalView = { id: 'carla', name: 'Carla (cyber)', tenant: 'contoso', roles: ['cyber-admin'] };

export const oooAction: ActionView = {
  id: 'set-ooo',
  title: 'Set an out-of-office reply',
  description: 'Turns on the automatic reply for a mailbox.',
  scriptId: 'set-ooo',
  scriptStatus: 'approved',
  versionHash: 'a'.repeat(64),
  tenant: 'contoso',
  approval: 'none',
  timeoutSeconds: 120,
  form: {
    fields: [
      { name: 'Mailbox', label: 'Mailbox', hint: 'The user principal name.', kind: 'text', psType: 'string', required: true, pattern: '^[^@]+@contoso\\.com$' },
      { name: 'Mode', label: 'Mode', kind: 'choice', psType: 'string', required: true, choices: ['Internal', 'External', 'Both'], default: 'Both' },
      { name: 'Notify', label: 'Notify the manager', kind: 'toggle', psType: 'switch', required: false },
      { name: 'Days', label: 'Days', kind: 'number', psType: 'int', required: false, min: 1, max: 30, integer: true },
      { name: 'Until', label: 'Until', kind: 'date', psType: 'datetime', required: false },
      { name: 'Cc', label: 'Copy to', kind: 'multi', psType: 'string[]', required: false },
      { name: 'Channels', label: 'Channels', kind: 'multi', psType: 'string[]', required: false, choices: ['Mail', 'Teams'] },
      { name: 'Password', label: 'Password', kind: 'secret', psType: 'securestring', required: false },
    ],
  },
};

export function run(overrides: Partial<RunView> = {}): RunView {
  return {
    id: 'run_1',
    actionId: 'set-ooo',
    actionTitle: 'Set an out-of-office reply',
    principalId: 'alex',
    state: 'queued',
    inputs: { Mailbox: 'kim@contoso.com', Password: '********' },
    origin: { kind: 'slack', conversationId: 'C1' },
    correlationId: 'corr-1',
    scriptHash: 'a'.repeat(64),
    createdAt: '2026-01-01T12:00:00.000Z',
    updatedAt: '2026-01-01T12:00:00.000Z',
    ...overrides,
  };
}

type Script = (event: Inbound) => Promise<HandleResult> | HandleResult;

/** A small real ConversationHandler whose answers each test scripts. */
export class ScriptedHandler implements ConversationHandler {
  readonly received: Inbound[] = [];
  homes: Record<string, HomeOverview | undefined> = {};

  constructor(private script: Script) {}

  setScript(script: Script): void {
    this.script = script;
  }

  async handle(event: Inbound): Promise<HandleResult> {
    this.received.push(event);
    return this.script(event);
  }

  async home(user: ChatUser): Promise<HomeOverview | undefined> {
    return user.identity.channel === 'slack' ? this.homes[user.identity.userId] : undefined;
  }
}
