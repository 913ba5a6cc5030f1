/**
 * The adapter conformance suite against Slack: the real bot server (`startBot`) with the Slack
 * edge plugin (Bolt 5 with its real signature check, listeners and WebClient), the real bot core,
 * a real executor with real pwsh, and the fake Slack Web API on loopback standing in for Slack.
 *
 * The driver is a Slack client in the person's DM with the bot. It sends requests signed as
 * Slack signs them (DM `message` events, `block_actions`, `view_submission`) and sees what the
 * fake recorded: messages (`chat.postMessage`, updated in place by `chat.update`), ephemeral
 * sentences, modals (`views.open` for the driver's own trigger ids, `views.update`) and files.
 *
 * Where Slack's model differs from a card in a chat, the driver maps it and says how:
 * - A form is a modal, not a message. Submitting it does not turn a message into the run's
 *   status; the bot posts the status message in the conversation and updates it in place. The
 *   driver therefore lets the run's message take the form's place (same observed id), the way a
 *   person closes the "submitted" modal and follows the run in the thread. Until that message
 *   appears, what the modal showed after the submission is listed as a separate, passing entry,
 *   so nothing the person saw is hidden and the form's place is never falsely "waiting".
 * - A validation error is Slack's `response_action: errors`: the modal stays open, the values
 *   the person typed stay (Slack's client keeps them), and each message shows under its field.
 * - The driver does not apply Slack's client-side checks (e.g. a number input's max_value); it
 *   submits what was typed, so the bot's own validation answers, as it must for any client.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { loadBotConfig } from '../../../bot/config.ts';
import { startBot } from '../../../bot/server.ts';
import { slackEdgePlugin } from '../../../bot/slack/plugin.ts';
import { FORM_CALLBACK_ID } from '../../../bot/slack/form.ts';
import { systemClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { startTestExecutor } from '../../helpers/executor.ts';
import { runConformanceSuite, type ChatDriver, type ObservedAction, type ObservedMessage } from '../conformance/suite.ts';
import { BOT_TEST_CATALOG } from '../webchat/harness.ts';
import {
  BlockSchema,
  ModalViewSchema,
  blocksActions,
  blocksText,
  buttonActionId,
  elementState,
  inputBlocks,
  modalInputs,
  type Block,
  type ModalView,
} from './block-kit.ts';
import { FakeSlackApi, directMessageChannel, type RecordedCall } from './fake-slack.ts';
import { SIGNING_SECRET, buttonOnMessage, signedSlackClient, viewSubmission, type SignedSlackClient } from './harness.ts';

const PostMessageSchema = z.object({ channel: z.string(), text: z.string().optional(), blocks: z.array(BlockSchema).optional(), thread_ts: z.string().optional() });
const PostedSchema = z.object({ ts: z.string() });
const UpdateSchema = z.object({ channel: z.string(), ts: z.string(), text: z.string().optional(), blocks: z.array(BlockSchema).optional() });
const EphemeralSchema = z.object({ channel: z.string(), user: z.string(), text: z.string() });
const EphemeralPostedSchema = z.object({ message_ts: z.string() });
const ViewOpenSchema = z.object({ trigger_id: z.string(), view: ModalViewSchema });
const ViewUpdateSchema = z.object({ view_id: z.string(), view: ModalViewSchema });
const ViewAnsweredSchema = z.object({ view: z.object({ id: z.string(), hash: z.string() }) });
const FileUploadSchema = z.object({ channel_id: z.string(), thread_ts: z.string().optional(), files: z.array(z.object({ title: z.string().optional() })) });
const SubmissionAnswerSchema = z.union([
  z.object({ response_action: z.literal('errors'), errors: z.record(z.string(), z.string()) }),
  z.object({ response_action: z.literal('update'), view: ModalViewSchema }),
  z.object({ response_action: z.literal('clear') }),
]);

interface ShownMessage {
  ts: string;
  threadTs: string | undefined;
  text: string;
  blocks: Block[];
}

interface ShownModal {
  viewId: string;
  hash: string;
  view: ModalView;
  /** `response_action: errors`, by block id. */
  errors: Record<string, string>;
  /** What the person typed, by block id; Slack's client keeps it while the modal is open. */
  typed: Record<string, string>;
}

/** Something the person sees, under one id for its whole life. */
interface Surface {
  id: string;
  message?: ShownMessage;
  ephemeral?: string;
  modal?: ShownModal;
  /** A submitted form waiting for its run's message to take its place. */
  awaitingRun?: { title: string; answer: ModalView | undefined };
  files: string[];
}

function messageOf(blocks: Block[] | undefined, text: string | undefined, ts: string, threadTs: string | undefined): ShownMessage {
  return { ts, threadTs, blocks: blocks ?? [], text: blocks && blocks.length > 0 ? blocksText(blocks) : (text ?? '') };
}

function formActionId(view: ModalView): string | undefined {
  if (view.callback_id !== FORM_CALLBACK_ID || view.private_metadata === undefined) return undefined;
  return z.object({ actionId: z.string() }).parse(JSON.parse(view.private_metadata)).actionId;
}

function modalActions(view: ModalView): ObservedAction[] {
  const actionId = formActionId(view);
  const submit: ObservedAction[] = actionId === undefined ? [] : [{ title: view.submit?.text ?? 'Submit', verb: 'submit-form', data: { actionId } }];
  return [...blocksActions(view.blocks), ...submit];
}

function modalMessage(id: string, view: ModalView, errors: Record<string, string> = {}, typed: Record<string, string> = {}): ObservedMessage {
  return {
    id,
    text: [view.title.text, blocksText(view.blocks, errors)].join('\n'),
    inputs: modalInputs(view.blocks, typed),
    actions: modalActions(view),
    files: [],
  };
}

class SlackDriver implements ChatDriver {
  private readonly channel: string;
  private readonly surfaces: Surface[] = [];
  private readonly triggers = new Set<string>();
  private seenCalls: number;

  constructor(
    private readonly slack: FakeSlackApi,
    private readonly client: SignedSlackClient,
    private readonly userId: string,
  ) {
    this.channel = directMessageChannel(userId);
    // A fresh client session: it sees what the bot sends from now on.
    this.seenCalls = slack.calls.length;
  }

  async sendText(text: string): Promise<void> {
    const ts = `${(Date.now() / 1000).toFixed(6)}`;
    const response = await this.client.event({ type: 'message', channel: this.channel, channel_type: 'im', user: this.userId, text, ts, event_ts: ts });
    if (response.status !== 200) throw new Error(`message event refused: HTTP ${response.status}`);
  }

  async clickAction(verb: string, match: Record<string, unknown> = {}): Promise<void> {
    this.sync();
    const target = this.surfaces
      .flatMap((surface) => this.observe(surface).flatMap((shown) => shown.actions.map((action) => ({ surface, action }))))
      .filter(({ action }) => action.verb === verb && Object.entries(match).every(([key, value]) => action.data[key] === value))
      .at(-1);
    if (!target) throw new Error(`no ${verb} button matching ${JSON.stringify(match)}`);
    const message = target.surface.message;
    // The form's submit is not a button; every other button Deputy renders sits on a message.
    if (!message) throw new Error(`the ${verb} button is not on a message; use submitForm for a modal's submit`);
    const payload = buttonOnMessage(buttonActionId(verb), target.action.data, { ts: message.ts, ...(message.threadTs ? { thread_ts: message.threadTs } : {}) }, this.userId, this.channel);
    this.triggers.add(String(payload['trigger_id']));
    const response = await this.client.interaction(payload);
    if (response.status !== 200) throw new Error(`button press refused: HTTP ${response.status}`);
  }

  async submitForm(values: Record<string, string>): Promise<void> {
    this.sync();
    const surface = this.surfaces.filter((candidate) => candidate.modal && !candidate.awaitingRun && formActionId(candidate.modal.view) !== undefined).at(-1);
    const modal = surface?.modal;
    if (!surface || !modal) throw new Error('no form to submit');
    const shown = Object.fromEntries(modalInputs(modal.view.blocks, modal.typed).map((input) => [input.id, input.value]));
    const typed = { ...modal.typed, ...Object.fromEntries(Object.entries(values).map(([name, value]) => [`field:${name}`, value])) };
    const state = Object.fromEntries(inputBlocks(modal.view.blocks).map((block) => [block.block_id, elementState(block.element, typed[block.block_id] ?? shown[block.block_id])]));
    const payload = viewSubmission(modal.view.private_metadata ?? '', state, this.userId);
    // Slack gives every interaction its own trigger_id: two presses are two requests, not one replayed.
    payload['trigger_id'] = `trigger-submit-${randomUUID()}`;
    const view = payload['view'] as Record<string, unknown>;
    payload['view'] = { ...view, id: modal.viewId, root_view_id: modal.viewId, hash: modal.hash, callback_id: modal.view.callback_id, blocks: modal.view.blocks, title: modal.view.title };

    const response = await this.client.interaction(payload);
    if (response.status !== 200) throw new Error(`form submission refused: HTTP ${response.status}`);
    // Calls that arrived during the submission are applied on the next look, after this answer.
    const answer = response.body === '' ? undefined : SubmissionAnswerSchema.parse(JSON.parse(response.body));
    if (answer?.response_action === 'errors') {
      surface.modal = { ...modal, errors: answer.errors, typed };
    } else if (answer?.response_action === 'update' && formActionId(answer.view) !== undefined) {
      // The form again (errors for the whole form): re-rendered with the values prefilled.
      surface.modal = { ...modal, view: answer.view, errors: {}, typed: {} };
    } else {
      surface.awaitingRun = { title: modal.view.title.text.replace(/…$/, ''), answer: answer?.response_action === 'update' ? answer.view : undefined };
    }
  }

  async messages(): Promise<ObservedMessage[]> {
    this.sync();
    return this.surfaces.flatMap((surface) => this.observe(surface));
  }

  private observe(surface: Surface): ObservedMessage[] {
    if (surface.awaitingRun) {
      const answer = surface.awaitingRun.answer;
      return answer ? [modalMessage(`${surface.id}:answer`, answer)] : [];
    }
    if (surface.message) {
      return [{ id: surface.id, text: surface.message.text, inputs: [], actions: blocksActions(surface.message.blocks), files: surface.files }];
    }
    if (surface.modal) return [modalMessage(surface.id, surface.modal.view, surface.modal.errors, surface.modal.typed)];
    return [{ id: surface.id, text: surface.ephemeral ?? '', inputs: [], actions: [], files: [] }];
  }

  /** Applies the Web API calls that arrived since the last look. */
  private sync(): void {
    const calls = this.slack.calls;
    for (const call of calls.slice(this.seenCalls)) this.apply(call);
    this.seenCalls = calls.length;
  }

  private apply(call: RecordedCall): void {
    switch (call.method) {
      case 'chat.postMessage': {
        const args = PostMessageSchema.parse(call.args);
        if (args.channel !== this.channel) return;
        const message = messageOf(args.blocks, args.text, PostedSchema.parse(call.response).ts, args.thread_ts);
        const form = this.surfaces.find((surface) => surface.awaitingRun && this.isRunMessageFor(message, surface.awaitingRun.title));
        if (form) {
          form.message = message;
          delete form.modal;
          delete form.awaitingRun;
        } else {
          this.surfaces.push({ id: message.ts, message, files: [] });
        }
        return;
      }
      case 'chat.update': {
        const args = UpdateSchema.parse(call.args);
        const surface = this.surfaces.find((candidate) => candidate.message?.ts === args.ts);
        if (args.channel !== this.channel || !surface?.message) return;
        surface.message = messageOf(args.blocks, args.text, args.ts, surface.message.threadTs);
        return;
      }
      case 'chat.postEphemeral': {
        const args = EphemeralSchema.parse(call.args);
        if (args.channel !== this.channel || args.user !== this.userId) return;
        this.surfaces.push({ id: `ephemeral:${EphemeralPostedSchema.parse(call.response).message_ts}`, ephemeral: args.text, files: [] });
        return;
      }
      case 'views.open': {
        const args = ViewOpenSchema.safeParse(call.args);
        if (!args.success || !this.triggers.has(args.data.trigger_id)) return;
        const { id, hash } = ViewAnsweredSchema.parse(call.response).view;
        this.surfaces.push({ id, modal: { viewId: id, hash, view: args.data.view, errors: {}, typed: {} }, files: [] });
        return;
      }
      case 'views.update': {
        const args = ViewUpdateSchema.safeParse(call.args);
        const surface = this.surfaces.find((candidate) => candidate.modal?.viewId === (args.success ? args.data.view_id : undefined));
        if (!args.success || !surface?.modal) return;
        surface.modal = { ...surface.modal, view: args.data.view, hash: ViewAnsweredSchema.parse(call.response).view.hash, errors: {}, typed: {} };
        return;
      }
      case 'files.completeUploadExternal': {
        const args = FileUploadSchema.parse(call.args);
        const root = this.surfaces.find((surface) => surface.message !== undefined && surface.message.ts === args.thread_ts);
        if (args.channel_id !== this.channel || !root) return;
        root.files.push(...args.files.map((file) => file.title ?? ''));
        return;
      }
    }
  }

  /** The message that shows a submitted run: it names the form's action and is not an action list. */
  private isRunMessageFor(message: ShownMessage, title: string): boolean {
    return message.text.includes(title) && !blocksActions(message.blocks).some((action) => action.verb === 'open-form');
  }
}

runConformanceSuite('Slack', {
  async start() {
    const slack = new FakeSlackApi();
    const apiUrl = await slack.start();
    const executor = await startTestExecutor({ catalog: BOT_TEST_CATALOG });
    const dataDir = mkdtempSync(join(tmpdir(), 'deputy-slack-conformance-'));
    const cleanUp = async () => {
      await executor.dispose();
      await slack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
    try {
      const config = loadBotConfig({
        DEPUTY_DATA_DIR: dataDir,
        DEPUTY_EXECUTOR_URL: executor.url,
        DEPUTY_EXECUTOR_TOKEN: executor.token,
        DEPUTY_BOT_PORT: '0',
        SLACK_BOT_TOKEN: 'xoxb-conformance',
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
      });
      const bot = await startBot({
        config,
        logger: silentLogger(),
        clock: systemClock,
        eventBackoffMs: { initial: 50, max: 500 },
        edges: [slackEdgePlugin({ apiUrl })],
      });
      await bot.core.start();
      const client = signedSlackClient(`${bot.url}/slack/events`, systemClock);
      let strangers = 0;
      return {
        // The fixture catalog's Slack identities: team T1, user U-<PRINCIPAL ID>.
        asPrincipal: async (principalId) => new SlackDriver(slack, client, `U-${principalId.toUpperCase()}`),
        asUnknownUser: async () => new SlackDriver(slack, client, `U-STRANGER${++strangers}`),
        runsOf: (principalId) => executor.runsOf(principalId),
        async close() {
          await bot.close();
          await cleanUp();
        },
      };
    } catch (error) {
      await cleanUp();
      throw error;
    }
  },
});
