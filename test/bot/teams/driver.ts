/**
 * A Teams client for tests: it posts signed activities to the real bot server's /api/messages
 * (botbuilder CloudAdapter, real JWT checks, real MSAL token, real connector client), sees the
 * bot's messages as the loopback Bot Framework connector receives them (POST = new message,
 * PUT = update in place), and shows an Action.Execute invoke answer's card in place of the
 * card whose button was pressed, as Teams does.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBotConfig } from '../../../bot/config.ts';
import { startBot, type RunningBot } from '../../../bot/server.ts';
import { teamsEdgePlugin } from '../../../bot/teams/plugin.ts';
import { TEAMS_FILE_DOWNLOAD_INFO } from '../../../bot/teams/translate.ts';
import { silentLogger } from '../../../lib/logger.ts';
import type { TestExecutor } from '../../helpers/executor.ts';
import { cardActions, cardInputs, cardText, latestForm, pressedData } from '../conformance/adaptive-card.ts';
import type { ChatDriver, ObservedMessage } from '../conformance/suite.ts';
import { FakeBotFrameworkCloud } from './fake-cloud.ts';
import { executeActivity, loopbackCredentials, loopbackEndpoints, messageActivity, personalChat, send, type TeamsUser } from './harness.ts';

/** The fixture catalog's Teams identities: tenant `tid`, AAD object id `aad-<principal>`. */
const FIXTURE_TENANT = 'tid';

interface Shown {
  card: unknown;
  files: string[];
  /** What last changed it: a connector call's seq, or the seq current when an invoke answered. */
  seq: number;
}

export class TeamsDriver implements ChatDriver {
  private readonly conversation = personalChat();
  private readonly shown = new Map<string, Shown>();
  private seenCalls = 0;

  constructor(
    private readonly cloud: FakeBotFrameworkCloud,
    /** Where this user's next activity goes: with several bots behind one URL, whichever the load balancer picks. */
    public botUrl: string,
    private readonly user: TeamsUser,
  ) {}

  private activity<T extends { conversation: { tenantId: string } }>(activity: T): T {
    // The fixture tenant stands in for the real one on every activity this user sends.
    return { ...activity, conversation: { ...activity.conversation, tenantId: FIXTURE_TENANT }, channelData: { tenant: { id: FIXTURE_TENANT } } };
  }

  async sendText(text: string): Promise<void> {
    const response = await send(this.botUrl, this.activity(messageActivity(this.cloud, this.user, this.conversation, text)), await this.cloud.token());
    if (response.status !== 200) throw new Error(`message refused: HTTP ${response.status}`);
  }

  async clickAction(verb: string, match: Record<string, unknown> = {}): Promise<void> {
    const messages = await this.messages();
    const target = messages
      .flatMap((message) => message.actions.map((action) => ({ message, action })))
      .filter(({ action }) => action.verb === verb && Object.entries(match).every(([key, value]) => action.data[key] === value))
      .at(-1);
    if (!target) throw new Error(`no ${verb} button matching ${JSON.stringify(match)}`);
    // What Teams sends for Action.Execute: every input's current value plus the button's data.
    await this.press(target.message.id, verb, { ...pressedData(target.message, target.action), ...target.action.data });
  }

  async submitForm(values: Record<string, string>): Promise<void> {
    await this.submitCard('submit-form', values);
  }

  async submitCard(verb: string, values: Record<string, string>): Promise<void> {
    const { form, submit } = latestForm(await this.messages(), verb);
    await this.press(form.id, verb, pressedData(form, submit, values));
  }

  /** A file attached in the personal chat: Teams hosts it and sends the bot its download information. */
  async sendFile(name: string, content: string): Promise<void> {
    const downloadUrl = this.cloud.hostFile(name, content);
    const message = messageActivity(this.cloud, this.user, this.conversation, '');
    const activity = this.activity({
      ...message,
      attachments: [{ contentType: TEAMS_FILE_DOWNLOAD_INFO, contentUrl: downloadUrl, name, content: { downloadUrl, uniqueId: randomUUID(), fileType: name.split('.').at(-1) } }],
    });
    const response = await send(this.botUrl, activity, await this.cloud.token());
    if (response.status !== 200) throw new Error(`file message refused: HTTP ${response.status}`);
  }

  /** Sends an Action.Execute invoke from the card `messageId`, whatever that card shows (as a wrong or forged client could). */
  async press(messageId: string, verb: string, data: Record<string, unknown>): Promise<void> {
    const activity = this.activity(executeActivity(this.cloud, this.user, this.conversation, { verb, data, replyToId: messageId }));
    const response = await send(this.botUrl, activity, await this.cloud.token());
    if (response.status !== 200) throw new Error(`invoke refused: HTTP ${response.status}`);
    const body = response.body as { statusCode: number; type: string; value: unknown };
    if (body.statusCode !== 200) throw new Error(`invoke answered ${body.statusCode}: ${JSON.stringify(body.value)}`);
    this.sync();
    // The client shows the answer's card in place of the pressed one; later updates replace it.
    if (body.type === 'application/vnd.microsoft.card.adaptive') {
      this.shown.set(messageId, { card: body.value, files: this.shown.get(messageId)?.files ?? [], seq: this.seenCalls });
    }
  }

  /** Applies the connector calls for this conversation that arrived since the last look. */
  private sync(): void {
    const calls = this.cloud.calls;
    for (const call of calls.slice(this.seenCalls)) {
      if (call.conversationId !== this.conversation.id || !call.path.includes('/activities')) continue;
      const attachments = (call.body.attachments as { contentType: string; content?: unknown; contentUrl?: string; name?: string }[] | undefined) ?? [];
      const card = attachments.find((attachment) => attachment.contentType === 'application/vnd.microsoft.card.adaptive')?.content;
      const files = attachments.filter((attachment) => attachment.contentUrl !== undefined).map((attachment) => attachment.name ?? '');
      const id = call.method === 'PUT' ? call.activityId : call.resultId;
      if (!id) continue;
      const before = this.shown.get(id);
      if (before && before.seq > call.seq) continue;
      this.shown.set(id, { card: card ?? before?.card, files: files.length > 0 ? files : before?.files ?? [], seq: call.seq });
    }
    this.seenCalls = calls.length;
  }

  async messages(): Promise<ObservedMessage[]> {
    this.sync();
    return [...this.shown.entries()].map(([id, shown]) => ({
      id,
      text: shown.card === undefined ? '' : cardText(shown.card),
      inputs: shown.card === undefined ? [] : cardInputs(shown.card),
      actions: shown.card === undefined ? [] : cardActions(shown.card),
      files: shown.files,
    }));
  }
}

export interface TeamsBot {
  driverFor(principalId: string): TeamsDriver;
  /** A Teams user the catalog does not know. */
  stranger(): TeamsDriver;
  close(): Promise<void>;
}

export interface TeamsBotOptions {
  /** A loopback cloud several bots share (one Teams app behind one URL); by default each bot starts its own. */
  cloud?: FakeBotFrameworkCloud;
  /** `DEPUTY_DATABASE_URL`: the conversation store in PostgreSQL. */
  databaseUrl?: string;
  eventLease?: { ttlMs: number; renewMs: number };
}

/** The real bot server with only the Teams edge, against `executor`, with the loopback cloud. */
export async function startTeamsBot(executor: TestExecutor, options: TeamsBotOptions = {}): Promise<TeamsBot & { url: string; core: RunningBot['core'] }> {
  const cloud = options.cloud ?? (await new FakeBotFrameworkCloud().start());
  const dataDir = mkdtempSync(join(tmpdir(), 'deputy-teams-bot-'));
  const config = loadBotConfig({
    DEPUTY_DATA_DIR: dataDir,
    DEPUTY_EXECUTOR_URL: executor.url,
    DEPUTY_EXECUTOR_TOKEN: executor.token,
    DEPUTY_BOT_PORT: '0',
    MicrosoftAppId: cloud.appId,
    MicrosoftAppPassword: cloud.appPassword,
    ...(options.databaseUrl ? { DEPUTY_DATABASE_URL: options.databaseUrl } : {}),
  });
  const bot = await startBot({
    config,
    logger: silentLogger(),
    eventBackoffMs: { initial: 50, max: 500 },
    ...(options.eventLease ? { eventLease: options.eventLease } : {}),
    edges: [teamsEdgePlugin({ endpoints: loopbackEndpoints(cloud), credentialsFactory: loopbackCredentials(cloud), insecureFileDownloads: true, fileHosts: ['127.0.0.1'] })],
  });
  await bot.core.start();
  const botUrl = `${bot.url}/api/messages`;
  const drivers = new Map<string, TeamsDriver>();
  return {
    url: botUrl,
    core: bot.core,
    driverFor(principalId) {
      let driver = drivers.get(principalId);
      if (!driver) {
        driver = new TeamsDriver(cloud, botUrl, { id: `29:${principalId}`, aadObjectId: `aad-${principalId}`, name: principalId });
        drivers.set(principalId, driver);
      }
      return driver;
    },
    stranger: () => new TeamsDriver(cloud, botUrl, { id: '29:stranger', aadObjectId: randomUUID(), name: 'Stranger' }),
    async close() {
      await bot.close();
      if (!options.cloud) await cloud.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
