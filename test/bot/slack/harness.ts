/**
 * Test plumbing for the Slack edge: a real restify server with the edge mounted, the fake Slack
 * Web API, requests signed exactly like Slack signs them, and payload builders.
 */
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import restify from 'restify';
import { ManualClock, type Clock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import type { ConversationHandler } from '../../../bot/core/model.ts';
import { createSlackEdge, type SlackEdge, type SlackEdgeOptions } from '../../../bot/slack/edge.ts';
import { FakeSlackApi } from './fake-slack.ts';

export const SIGNING_SECRET = 'test-signing-secret-8f2c1d';
export const TEAM = 'T1';

export interface SignedResponse {
  status: number;
  body: string;
  ms: number;
}

export function slackSignature(secret: string, timestampSec: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestampSec}:${body}`).digest('hex')}`;
}

/** Slack's side of `POST /slack/events`: every request signed as Slack signs it. */
export interface SignedSlackClient {
  url: string;
  /** Sends a body signed with `secret` at `timestampSec` (defaults: the real secret, the clock's now). */
  send(body: string, contentType: string, options?: { secret?: string; timestampSec?: number }): Promise<SignedResponse>;
  command(fields: Record<string, string>): Promise<SignedResponse>;
  interaction(payload: Record<string, unknown>): Promise<SignedResponse>;
  event(event: Record<string, unknown>): Promise<SignedResponse>;
}

export interface Harness extends SignedSlackClient {
  edge: SlackEdge;
  slack: FakeSlackApi;
  clock: ManualClock;
  close(): Promise<void>;
}

/** A client for a bot's `/slack/events` URL; `clock` must be the one the bot checks timestamps against. */
export function signedSlackClient(url: string, clock: Clock): SignedSlackClient {
  const send: SignedSlackClient['send'] = async (body, contentType, sendOptions = {}) => {
    const timestampSec = sendOptions.timestampSec ?? Math.floor(clock.now() / 1000);
    const started = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        'x-slack-request-timestamp': String(timestampSec),
        'x-slack-signature': slackSignature(sendOptions.secret ?? SIGNING_SECRET, timestampSec, body),
      },
      body,
    });
    const text = await response.text();
    return { status: response.status, body: text, ms: performance.now() - started };
  };
  const form = 'application/x-www-form-urlencoded';
  return {
    url,
    send,
    command: (fields) => send(new URLSearchParams(fields).toString(), form),
    interaction: (payload) => send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), form),
    event: (event) =>
      send(JSON.stringify({ type: 'event_callback', team_id: TEAM, api_app_id: 'A1', event, event_id: `Ev${Math.random().toString(36).slice(2)}`, event_time: 1767268800 }), 'application/json'),
  };
}

export async function startHarness(handler: ConversationHandler, options: Partial<SlackEdgeOptions> = {}): Promise<Harness> {
  const slack = new FakeSlackApi();
  const apiUrl = await slack.start();
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  const edge = await createSlackEdge({
    handler,
    botToken: 'xoxb-test-token',
    signingSecret: SIGNING_SECRET,
    apiUrl,
    apiRetries: 0,
    logger: silentLogger(),
    clock,
    ...options,
  });
  const server = restify.createServer({ handleUncaughtExceptions: false });
  edge.mount(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...signedSlackClient(`http://127.0.0.1:${port}/slack/events`, clock),
    edge,
    slack,
    clock,
    async close() {
      await edge.close();
      server.close();
      await slack.stop();
    },
  };
}

export function slashCommand(text: string, user = 'U1', channel = 'C1'): Record<string, string> {
  return {
    token: 'legacy-verification-token',
    team_id: TEAM,
    team_domain: 'contoso',
    channel_id: channel,
    channel_name: 'helpdesk',
    user_id: user,
    user_name: 'alex',
    command: '/deputy',
    text,
    api_app_id: 'A1',
    response_url: 'https://hooks.slack.com/commands/T1/1/abc',
    trigger_id: `trigger-${user}-${Math.random().toString(36).slice(2)}`,
  };
}

/** The fields every interaction payload carries about who sent it. */
function interactionFrom(user: string): Record<string, unknown> {
  return {
    team: { id: TEAM, domain: 'contoso' },
    user: { id: user, username: 'alex', name: 'alex', team_id: TEAM },
    api_app_id: 'A1',
    token: 'legacy-verification-token',
  };
}

/** The `view_submission` payload Slack sends when the form modal is submitted. */
export function viewSubmission(privateMetadata: string, values: Record<string, Record<string, unknown>>, user = 'U1'): Record<string, unknown> {
  return {
    type: 'view_submission',
    ...interactionFrom(user),
    trigger_id: 'trigger-submit',
    view: {
      id: 'V900',
      team_id: TEAM,
      type: 'modal',
      blocks: [],
      private_metadata: privateMetadata,
      callback_id: 'deputy:form',
      state: { values: Object.fromEntries(Object.entries(values).map(([block, element]) => [block, { value: element }])) },
      hash: 'hash-1',
      title: { type: 'plain_text', text: 'Form' },
      close: null,
      submit: { type: 'plain_text', text: 'Run' },
      root_view_id: 'V900',
      app_id: 'A1',
      bot_id: 'BBOT',
    },
    response_urls: [],
  };
}

/** A `block_actions` payload for a button on a message in a channel thread. */
export function buttonOnMessage(actionId: string, value: unknown, message: { ts: string; thread_ts?: string }, user = 'U1', channel = 'C1'): Record<string, unknown> {
  return {
    type: 'block_actions',
    ...interactionFrom(user),
    container: { type: 'message', message_ts: message.ts, channel_id: channel, is_ephemeral: false },
    trigger_id: `trigger-button-${Math.random().toString(36).slice(2)}`,
    channel: { id: channel, name: 'helpdesk' },
    message: { type: 'message', ts: message.ts, ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}), text: 'x', blocks: [] },
    response_url: 'https://hooks.slack.com/actions/T1/1/abc',
    actions: [{ type: 'button', action_id: actionId, block_id: 'b1', value: JSON.stringify(value), text: { type: 'plain_text', text: 'x' }, action_ts: '1767268800.000100' }],
  };
}

/** A `block_actions` payload for a button inside an open modal (the action list's Run buttons). */
export function buttonInModal(actionId: string, value: string, view: { id: string; hash: string; private_metadata: string }, user = 'U1'): Record<string, unknown> {
  return {
    type: 'block_actions',
    ...interactionFrom(user),
    container: { type: 'view', view_id: view.id },
    trigger_id: `trigger-modal-button-${Math.random().toString(36).slice(2)}`,
    view: { ...view, type: 'modal', team_id: TEAM, blocks: [], callback_id: '', state: { values: {} }, root_view_id: view.id, app_id: 'A1', bot_id: 'BBOT' },
    actions: [{ type: 'button', action_id: actionId, block_id: 'b1', value, text: { type: 'plain_text', text: 'Run' }, action_ts: '1767268800.000100' }],
  };
}
