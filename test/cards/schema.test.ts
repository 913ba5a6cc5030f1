import { strict as assert } from 'node:assert';
import { renderCard, type AdaptiveCardJson } from '../../cards/render.ts';
import { CARD_BUDGET_BYTES } from '../../cards/limits.ts';
import type { Screen } from '../../cards/screens.ts';
import { everyScreen, sampleAction, sampleRun, SCREEN_NAMES, SCRIPT_REVIEW } from './samples.ts';
import { checkCard } from './validate.ts';
import { findAll, ofType } from './walk.ts';

const STYLES = ['execute', 'submit'] as const;

function bytes(card: AdaptiveCardJson): number {
  return Buffer.byteLength(JSON.stringify(card), 'utf8');
}

function assertValid(card: AdaptiveCardJson, label: string): void {
  const problems = checkCard(card);
  assert.deepEqual(problems, { parseEvents: [], validationEvents: [], droppedProperties: [] }, label);
  assert.equal(card.type, 'AdaptiveCard');
  assert.equal(card.version, '1.5', label);
  assert.ok(bytes(card) <= CARD_BUDGET_BYTES, `${label}: ${bytes(card)} bytes`);
  // An unbound template expression left in the card means the view and the template disagree.
  assert.ok(!JSON.stringify(card).includes('${'), `${label} has an unbound template expression`);
}

describe('cards: every rendered card passes the adaptivecards library', () => {
  it('has samples for every screen', () => {
    const covered = new Set(everyScreen().map((sample) => sample.screen.screen));
    assert.deepEqual([...covered].sort(), [...SCREEN_NAMES].sort());
  });

  for (const style of STYLES) {
    for (const { name, screen } of everyScreen()) {
      it(`${name} (${style})`, () => {
        assertValid(renderCard(screen, { actionStyle: style, refreshUserIds: ['29:user-1', '29:user-2'] }), `${name}/${style}`);
      });
    }
  }

  it('the checker itself notices a misspelt property, an unknown element and a duplicate id', () => {
    const card = {
      type: 'AdaptiveCard',
      version: '1.5',
      body: [
        { type: 'TextBlock', text: 'x', wrapp: true },
        { type: 'Input.Txt', id: 'a' },
        { type: 'Input.Text', id: 'b' },
        { type: 'Input.Text', id: 'b' },
      ],
    };
    const problems = checkCard(card);
    assert.equal(problems.droppedProperties[0], 'body[0].wrapp=true');
    assert.match(problems.parseEvents.join('\n'), /Unknown element type "Input.Txt"/);
    assert.match(problems.validationEvents.join('\n'), /Duplicate Id "b"/);
  });
});

describe('cards: large inputs stay within the Teams size limit', () => {
  const longLine = 'é'.repeat(5000);

  it('a summary with thousands of long lines shows the first lines, each cut', () => {
    const run = sampleRun({
      state: 'succeeded',
      durationMs: 1000,
      summary: {
        lines: Array.from({ length: 2000 }, () => longLine),
        errors: Array.from({ length: 100 }, () => longLine),
        warnings: Array.from({ length: 100 }, () => longLine),
        outputLineCount: 2000,
        truncated: true,
        exitCode: 0,
      },
    });
    const card = renderCard({ screen: 'run-summary', run, canShowAll: true }, { actionStyle: 'execute' });
    assertValid(card, 'long lines');
    const runs = ofType(card, 'TextRun').filter((item) => item.fontType === 'Monospace' && item.color === undefined);
    assert.ok(runs.length > 0 && runs.length <= 15, `${runs.length} output lines`);
    for (const item of runs) {
      const text = String(item.text);
      assert.ok(Array.from(text).length <= 200 && text.endsWith('…'), 'each line is cut and marked');
    }
    assert.match(JSON.stringify(card), /Showing the last \d+ of 2000 lines/);
  });

  it('a wide, long table is cut to a readable size', () => {
    const columns = Array.from({ length: 40 }, (_, index) => `Column ${index}`);
    const rows = Array.from({ length: 1000 }, (_, row) => columns.map((_, column) => `${row}:${column} ${longLine}`));
    const run = sampleRun({
      state: 'succeeded',
      summary: { lines: [], table: { columns, rows }, errors: [], warnings: [], outputLineCount: 1000, truncated: false, exitCode: 0 },
    });
    const card = renderCard({ screen: 'run-summary', run, canShowAll: true }, { actionStyle: 'submit' });
    assertValid(card, 'wide table');
    const [table] = ofType(card, 'Table');
    assert.ok(table);
    const tableRows = table.rows as unknown[];
    assert.ok(tableRows.length <= 11, `${tableRows.length} rows including the header`);
    assert.ok((table.columns as unknown[]).length <= 6);
    assert.match(JSON.stringify(card), /Showing the last \d+ of 1000 rows\. 3\d more columns not shown\./);
  });

  it('hundreds of actions with long descriptions list the first ones and say how many are left', () => {
    const actions = Array.from({ length: 300 }, (_, index) =>
      sampleAction({ id: `action-${index}`, title: `Action ${String(index).padStart(3, '0')} ${longLine}`, description: longLine }),
    );
    const screen: Screen = { screen: 'action-list', principal: { id: 'a', name: 'A', tenant: 't', roles: ['administrator'] }, actions };
    const card = renderCard(screen, { actionStyle: 'execute' });
    assertValid(card, 'many actions');
    const openButtons = findAll(card, (item) => item.verb === 'open-form');
    assert.ok(openButtons.length >= 10 && openButtons.length <= 30);
    assert.match(JSON.stringify(card), new RegExp(`${300 - openButtons.length} more actions are not listed here`));
  });

  it('an approval with many long inputs and a long script excerpt stay valid', () => {
    const inputs = Object.fromEntries(Array.from({ length: 80 }, (_, index) => [`Param${index}`, longLine]));
    const approval = renderCard(
      { screen: 'approval-request', run: sampleRun({ state: 'awaiting-approval', inputs, approval: { required: true } }), requester: longLine, viewerMayDecide: true },
      { actionStyle: 'execute', refreshUserIds: Array.from({ length: 100 }, (_, index) => `29:user-${index}`) },
    );
    assertValid(approval, 'approval');
    const review = renderCard(
      { screen: 'script-review', review: { ...SCRIPT_REVIEW, excerpt: Array.from({ length: 500 }, () => longLine).join('\n') }, viewerMayDecide: true },
      { actionStyle: 'execute' },
    );
    assertValid(review, 'review');
    const notice = renderCard({ screen: 'notice', text: longLine.repeat(40) }, { actionStyle: 'submit' });
    assertValid(notice, 'notice');
  });
});
