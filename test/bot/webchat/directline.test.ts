/** The Direct Line state on its own: token lifetime, conversation binding, watermarks, updates in place. */
import { strict as assert } from 'node:assert';
import { DEFAULT_LIMITS, DirectLineState } from '../../../bot/webchat/directline.ts';
import { ManualClock } from '../../../lib/clock.ts';

describe('Direct Line state', () => {
  it('expires tokens, and a refresh replaces the old token for the same conversation', () => {
    const clock = new ManualClock();
    const state = new DirectLineState(clock, { ...DEFAULT_LIMITS, tokenTtlMs: 60_000 });
    const token = state.issueToken('alex');
    const conversation = state.startConversation(token)?.conversation;
    assert.ok(conversation);
    assert.equal(state.startConversation(token)?.conversation.id, conversation.id, 'one conversation per token');
    const refreshed = state.refresh(token);
    assert.ok(refreshed);
    assert.equal(state.grant(token), undefined, 'the old token stops working');
    assert.equal(state.conversationFor(refreshed, conversation.id)?.persona, 'alex');
    clock.advance(60_001);
    assert.equal(state.conversationFor(refreshed, conversation.id), undefined, 'expired');
  });

  it('pages by watermark, keeps only the newest entries, and re-delivers an updated bot activity under its id and first timestamp', () => {
    const clock = new ManualClock();
    const state = new DirectLineState(clock, { ...DEFAULT_LIMITS, maxLogEntries: 3 });
    const conversation = state.startConversation(state.issueToken('alex'))?.conversation;
    assert.ok(conversation);
    const user = state.appendFromUser(conversation, { type: 'message', text: 'help' });
    clock.advance(1000);
    const card = state.appendFromBot(conversation, { text: 'v1' });
    const first = state.activitiesAfter(conversation, 0);
    assert.deepEqual(first.activities.map((activity) => activity.id), [user.id, card.id]);
    assert.equal(first.watermark, 2);

    clock.advance(5000);
    const updated = state.replace(conversation, card.id, { text: 'v2' });
    assert.equal(updated?.timestamp, card.timestamp);
    assert.equal(state.replace(conversation, user.id, { text: 'forged' }), undefined, 'a user message is never replaced');
    const next = state.activitiesAfter(conversation, first.watermark);
    assert.deepEqual(next.activities.map((activity) => [activity.id, activity.text]), [[card.id, 'v2']]);

    state.appendFromBot(conversation, { text: 'a' });
    state.appendFromBot(conversation, { text: 'b' });
    const trimmed = state.activitiesAfter(conversation, 0);
    assert.deepEqual(trimmed.activities.map((activity) => activity.text), ['v2', 'a', 'b'], 'the oldest entries are dropped');
    assert.equal(trimmed.watermark, 5, 'watermarks keep counting');
  });

  it('continues a persona’s conversation with a new token (a reload, a switch back), and keeps personas apart', () => {
    const state = new DirectLineState(new ManualClock());
    const first = state.startConversation(state.issueToken('alex'));
    assert.equal(first?.created, true);
    const again = state.startConversation(state.issueToken('alex'));
    assert.equal(again?.created, false);
    assert.equal(again?.conversation.id, first?.conversation.id);
    const other = state.startConversation(state.issueToken('cyra'));
    assert.equal(other?.created, true);
    assert.notEqual(other?.conversation.id, first?.conversation.id);
  });
});
