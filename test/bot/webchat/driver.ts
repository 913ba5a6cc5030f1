/**
 * A web chat client for tests: speaks the bot's local Direct Line 3.0 endpoint exactly as
 * botframework-webchat's DirectLineJS does with `webSocket: false` (token, conversation,
 * post activity, poll with watermark), and keeps activities the way Web Chat does: an
 * activity with a known id replaces the earlier one in its place.
 */
import { cardActions, cardInputs, cardText, latestForm, pressedData } from '../conformance/adaptive-card.ts';
import type { ChatDriver, ObservedMessage } from '../conformance/suite.ts';
import { WEBCHAT_KEY_HEADER } from '../../../bot/webchat/edge.ts';

interface WireActivity {
  id: string;
  type: string;
  from: { id: string; role?: string };
  text?: string;
  attachments?: Array<{ contentType: string; content?: unknown; contentUrl?: string; name?: string }>;
}

export class WebChatDriver implements ChatDriver {
  private watermark = '';
  private readonly activities = new Map<string, WireActivity>();

  private constructor(
    readonly baseUrl: string,
    readonly persona: string,
    private readonly token: string,
    readonly conversationId: string,
  ) {}

  /** As the page does: a persona token with the key from the address `deputy start` prints. */
  static async connect(bot: { url: string; webChat?: { key: string } }, persona: string): Promise<WebChatDriver> {
    const baseUrl = bot.url;
    const grant = await expectJson<{ token: string }>(await fetch(`${baseUrl}/v3/directline/tokens/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [WEBCHAT_KEY_HEADER]: bot.webChat?.key ?? '' },
      body: JSON.stringify({ user: { id: persona } }),
    }));
    const started = await expectJson<{ conversationId: string; token: string }>(await fetch(`${baseUrl}/v3/directline/conversations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${grant.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: { id: persona } }),
    }));
    return new WebChatDriver(baseUrl, persona, started.token, started.conversationId);
  }

  /** Posts any activity (tests use it for forged `from` fields and the like). */
  async postActivity(activity: Record<string, unknown>): Promise<string> {
    const response = await fetch(`${this.baseUrl}/v3/directline/conversations/${this.conversationId}/activities`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: { id: this.persona }, ...activity }),
    });
    return (await expectJson<{ id: string }>(response)).id;
  }

  async sendText(text: string): Promise<void> {
    await this.postActivity({ type: 'message', text });
  }

  async clickAction(verb: string, match: Record<string, unknown> = {}): Promise<void> {
    const messages = await this.messages();
    const action = messages
      .flatMap((message) => message.actions)
      .filter((candidate) => candidate.verb === verb && Object.entries(match).every(([key, value]) => candidate.data[key] === value))
      .at(-1);
    if (!action) throw new Error(`no ${verb} button matching ${JSON.stringify(match)}`);
    await this.postActivity({ type: 'message', value: action.data, channelData: { postBack: true } });
  }

  async submitForm(values: Record<string, string>): Promise<void> {
    await this.submitCard('submit-form', values);
  }

  async submitCard(verb: string, values: Record<string, string>): Promise<void> {
    const { form, submit } = latestForm(await this.messages(), verb);
    await this.postActivity({ type: 'message', value: pressedData(form, submit, values), channelData: { postBack: true } });
  }

  /** What DirectLineJS sends for a message with a file: multipart, the activity as JSON and the file itself. */
  async sendFile(name: string, content: string): Promise<void> {
    const form = new FormData();
    const activity = { type: 'message', from: { id: this.persona }, attachments: [{ contentType: 'text/plain', name }], channelData: { clientActivityID: `upload-${Date.now()}` } };
    form.append('activity', new Blob([JSON.stringify(activity)], { type: 'application/vnd.microsoft.activity' }));
    form.append('file', new Blob([content], { type: 'text/plain' }), name);
    const response = await fetch(`${this.baseUrl}/v3/directline/conversations/${this.conversationId}/upload?userId=${encodeURIComponent(this.persona)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}` },
      body: form,
    });
    await expectJson<{ id: string }>(response);
  }

  async messages(): Promise<ObservedMessage[]> {
    await this.poll();
    return [...this.activities.values()]
      .filter((activity) => activity.type === 'message' && activity.from.role === 'bot')
      .map((activity) => {
        const cards = (activity.attachments ?? []).filter((attachment) => attachment.contentType === 'application/vnd.microsoft.card.adaptive');
        const files = (activity.attachments ?? []).filter((attachment) => attachment.contentUrl !== undefined);
        return {
          id: activity.id,
          text: [activity.text ?? '', ...cards.map((card) => cardText(card.content))].filter(Boolean).join('\n'),
          inputs: cards.flatMap((card) => cardInputs(card.content)),
          actions: cards.flatMap((card) => cardActions(card.content)),
          files: files.map((file) => file.name ?? ''),
        };
      });
  }

  /** The raw activities as Web Chat would hold them (for checks on the wire format). */
  async rawActivities(): Promise<WireActivity[]> {
    await this.poll();
    return [...this.activities.values()];
  }

  async download(contentUrl: string): Promise<Response> {
    return fetch(`${this.baseUrl}${contentUrl}`);
  }

  private async poll(): Promise<void> {
    const response = await fetch(`${this.baseUrl}/v3/directline/conversations/${this.conversationId}/activities?watermark=${this.watermark}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    const page = await expectJson<{ activities: WireActivity[]; watermark: string }>(response);
    for (const activity of page.activities) this.activities.set(activity.id, activity);
    this.watermark = page.watermark;
  }
}

async function expectJson<T>(response: Response): Promise<T> {
  if (!response.ok) throw new Error(`${response.url}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}
