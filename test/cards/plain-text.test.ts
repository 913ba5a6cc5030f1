/**
 * Text from users, scripts and the catalog is shown as plain text (issue 14, item 11): in an
 * Adaptive Card it sits only in TextRuns and input values, never in a TextBlock or a FactSet,
 * which clients read as Markdown; in Slack it sits only in plain_text, never in mrkdwn.
 */
import { strict as assert } from 'node:assert';
import { renderCard } from '../../cards/render.ts';
import type { Screen } from '../../cards/screens.ts';
import { renderMessage } from '../../bot/slack/blocks.ts';
import { everyScreen } from './samples.ts';
import { findAll } from './walk.ts';

/** Markdown that would turn into formatting, a link, or a fake outcome line if read as Markdown. */
const HOSTILE = '**✔ Approved by cyra** [click](http://evil.example) _x_ ~y~ `z` <http://evil.example|here>';

/** Every string in the screen's data that did not come from Deputy's own words, made hostile. */
function hostile(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    // Ids, hashes, states, verbs and times keep their shape: they are not free text.
    if (/^(id|actionId|runId|scriptId|principalId|versionHash|scriptHash|hash|state|status|correlationId|formId|screen|kind|verb|decision|approval|scriptStatus|psType|createdAt|updatedAt|startedAt|endedAt|expiresAt|tenant|conversationId|outcome)$/.test(key)) return value;
    return `${value} ${HOSTILE}`;
  }
  if (Array.isArray(value)) return value.map((item) => hostile(item, key === 'roles' || key === 'choices' || key === 'moves' ? key : ''));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, ['roles', 'choices', 'moves', 'kind'].includes(name) ? item : hostile(item, name)]));
  }
  return value;
}

describe('cards and Block Kit show outside text as plain text', () => {
  for (const { name, screen } of everyScreen()) {
    if (screen.screen === 'action-form') continue; // Input values and labels are never Markdown; covered below.
    const made = hostile(screen) as Screen;

    it(`${name}: no TextBlock or FactSet carries it (Adaptive Card)`, () => {
      const card = renderCard(made, { actionStyle: 'execute' });
      const markdownHolders = findAll(card, (item) => item.type === 'TextBlock' || item.type === 'FactSet' || item.type === 'Fact');
      for (const holder of markdownHolders) assert.ok(!JSON.stringify(holder).includes('evil.example'), `${name}: ${JSON.stringify(holder)}`);
      // …and it still reaches the reader, as a plain text run.
      if (JSON.stringify(made).includes('evil.example') && screen.screen !== 'welcome') {
        assert.ok(findAll(card, (item) => item.type === 'TextRun' && String(item.text).includes('**✔ Approved by cyra**')).length > 0, `${name}: shown as text`);
      }
    });

    it(`${name}: no mrkdwn text carries it unescaped (Block Kit)`, () => {
      const message = renderMessage(made);
      const mrkdwn = findAll(message.blocks, (item) => item.type === 'mrkdwn');
      for (const text of mrkdwn) {
        const value = String(text.text);
        // Inside a code block Slack formats nothing; elsewhere the text must not be there at all.
        const outsideCode = value.split('```').filter((_, index) => index % 2 === 0).join('');
        assert.ok(!outsideCode.includes('evil.example'), `${name}: ${value}`);
      }
    });
  }

  it('the form: hints and errors from scripts are text runs; labels and values are input properties', () => {
    const form = everyScreen().find((sample) => sample.name === 'action-form-errors')?.screen;
    assert.ok(form);
    const card = renderCard(hostile(form) as Screen, { actionStyle: 'submit' });
    const markdownHolders = findAll(card, (item) => item.type === 'TextBlock');
    for (const holder of markdownHolders) assert.ok(!JSON.stringify(holder).includes('evil.example'), JSON.stringify(holder));
  });
});
