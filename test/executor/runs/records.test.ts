/**
 * A run's state change and its audit entry are written side by side (executor/runs/records.ts):
 * the entry only once the change is decided, and corrected when the change then fails.
 */
import assert from 'node:assert/strict';
import type { AuditEntry, AuditInput } from '../../../executor/domain.ts';
import { withAuditEntry } from '../../../executor/runs/records.ts';
import type { AuditLog } from '../../../executor/store/port.ts';

function recordingAudit(): { audit: AuditLog; written: AuditInput[] } {
  const written: AuditInput[] = [];
  const audit = {
    append: async (entry: AuditInput) => {
      written.push(entry);
      return { ...entry, seq: written.length } as unknown as AuditEntry;
    },
  } as unknown as AuditLog;
  return { audit, written };
}

const entry: AuditInput = { type: 'run.state', outcome: 'info', correlationId: 'corr-1', actor: 'alex', subject: 'run_1', detail: { from: 'queued', to: 'running' } };

describe('a change and its audit entry', () => {
  it('writes the entry when the change asks for it, and gives back what the change returned', async () => {
    const { audit, written } = recordingAudit();
    const result = await withAuditEntry(audit, entry, async (alongside) => {
      await alongside();
      return 'stored';
    });
    assert.equal(result, 'stored');
    assert.deepEqual(written, [entry]);
  });

  it('writes nothing for a change that is not made (the loser of a compare-and-set never calls alongside)', async () => {
    const { audit, written } = recordingAudit();
    assert.equal(await withAuditEntry(audit, entry, async () => 'lost'), 'lost');
    await assert.rejects(withAuditEntry(audit, entry, () => Promise.reject(new Error('disk full'))), /disk full/);
    assert.deepEqual(written, []);
  });

  it('corrects its entry when the change fails after the entry was written, and still fails', async () => {
    const { audit, written } = recordingAudit();
    await assert.rejects(
      withAuditEntry(audit, entry, async (alongside) => {
        await alongside();
        throw new Error('the record could not be written');
      }),
      /the record could not be written/,
    );
    assert.equal(written.length, 2);
    assert.deepEqual(written[0], entry);
    assert.equal(written[1]?.outcome, 'error');
    assert.equal(written[1]?.subject, 'run_1');
    assert.deepEqual(written[1]?.detail, { from: 'queued', to: 'running', stored: false });
  });
});
