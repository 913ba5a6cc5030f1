/** Block Kit rendering details: tables that read well, the end of the output, Cancel that asks. */
import { strict as assert } from 'node:assert';
import { formatTable, renderMessage } from '../../../bot/slack/blocks.ts';
import { RunViewSchema } from '../../../executor/contract/index.ts';

describe('Slack blocks', () => {
  it('a table has readable headers and keeps text columns whole when they fit', () => {
    const path = '/var/log/apt/term.log: Setting up chromium (120.0.6099.224-1~deb12u1) ...';
    const lines = formatTable({ columns: ['UserPrincipalName', 'SizeGB', 'Text'], rows: [['uma.schulz@contoso.example', '12.5', path]] });
    assert.match(lines[0] ?? '', /^User principal name\s+Size GB\s+Text$/);
    assert.ok(lines[2]?.includes(path), 'a 73-character value is not cut at 40');
  });

  it('a table wider than a code block cuts its widest column first', () => {
    const lines = formatTable({ columns: ['Name', 'Detail'], rows: [['short', 'x'.repeat(300)]] });
    assert.ok((lines[2] ?? '').length <= 120, `${(lines[2] ?? '').length} characters`);
    assert.ok(lines[2]?.startsWith('short  '), 'the narrow column stays whole');
  });

  it('a long output says it shows the last lines, of how many', () => {
    const run = RunViewSchema.parse({
      id: 'run_1', actionId: 'log', actionTitle: 'Read a system log', principalId: 'alex', state: 'succeeded', inputs: {}, origin: { kind: 'slack' },
      correlationId: 'c', scriptHash: 'h', createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z',
      summary: { lines: Array.from({ length: 10 }, (_, index) => `line ${index + 21}`), errors: [], warnings: [], outputLineCount: 30, truncated: false, exitCode: 0 },
    });
    const message = renderMessage({ screen: 'run-summary', run, canShowAll: true });
    assert.match(JSON.stringify(message.blocks), /Showing the last 10 of 30 lines/);
    assert.match(JSON.stringify(message.blocks), /line 30/);
  });
});
