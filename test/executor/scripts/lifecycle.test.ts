/**
 * The script lifecycle through the REST API only (real restify, real pwsh, file store): the
 * executor enforces every rule itself, whatever a chat adapter sends.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import {
  ApprovalListSchema,
  ErrorBodySchema,
  ScriptEventSchema,
  ScriptListSchema,
  ScriptStatusResponseSchema,
  ScriptViewSchema,
  type ScriptEvent,
  type ScriptStatus,
} from '../../../executor/contract/index.ts';
import type { ExecutorEvent } from '../../../executor/events.ts';
import { ManualClock } from '../../../lib/clock.ts';
import { removeDataFolder, startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { ACTORS, SCRIPT_TEXTS, sha256, writeLifecycleCatalog } from './catalog.ts';

const HASH = { tool: sha256(SCRIPT_TEXTS.tool), rootTool: sha256(SCRIPT_TEXTS.rootTool), echo: sha256(SCRIPT_TEXTS.echo) };

async function errorOf(response: Response) {
  return ErrorBodySchema.parse(await response.json()).error;
}

function changeStatus(executor: TestExecutor, scriptId: string, body: { principalId: string; to: ScriptStatus; hash: string; from?: ScriptStatus; comment?: string }) {
  return executor.api(`/v1/scripts/${scriptId}/status`, { method: 'POST', json: body });
}

/** Puts a script into a status directly in the store: the arrangement step of each rights cell. */
async function arrange(executor: TestExecutor, scriptId: string, status: ScriptStatus): Promise<void> {
  const snapshot = executor.store.catalog.snapshot();
  await executor.store.catalog.replace({
    ...snapshot,
    scripts: snapshot.scripts.map((script) => {
      if (script.id !== scriptId) return script;
      const { approvedHash: _approved, ...rest } = script;
      return status === 'approved' ? { ...rest, status, approvedHash: script.currentHash } : { ...rest, status };
    }),
  });
}

async function lastAudit(executor: TestExecutor) {
  const [entry] = await executor.store.audit.read({ limit: 1 });
  assert.ok(entry);
  return entry;
}

/** Collects script events published from now on. */
function collectScriptEvents(executor: TestExecutor): { events: ScriptEvent[]; stop: () => void } {
  const events: ScriptEvent[] = [];
  const stop = executor.events.subscribe((event: ExecutorEvent) => {
    if (event.type.startsWith('script.')) events.push(ScriptEventSchema.parse(event));
  });
  return { events, stop };
}

const TRANSITIONS: { from: ScriptStatus; to: ScriptStatus }[] = [
  { from: 'draft', to: 'testing' },
  { from: 'testing', to: 'approved' },
  { from: 'testing', to: 'draft' },
  { from: 'approved', to: 'draft' },
];

/** What the rights table and the tenant rules say each actor gets on a script of `hamburg`. */
function expectedOnHamburg(actor: (typeof ACTORS)[number]): { status: number; code?: string } {
  if (actor.relation === 'sideways') return { status: 404, code: 'DEPUTY_E_NOT_FOUND' };
  if (actor.role === 'cyber-admin' || actor.role === 'company-admin') return { status: 200 };
  return { status: 403, code: 'DEPUTY_E_FORBIDDEN' };
}

describe('script lifecycle over REST (executor/scripts)', function () {
  this.timeout(60_000);
  let executor: TestExecutor;
  let catalog: string;

  before(async () => {
    catalog = writeLifecycleCatalog();
    executor = await startTestExecutor({ catalog });
  });
  after(async () => {
    await executor.dispose();
    rmSync(catalog, { recursive: true, force: true });
  });

  describe('who may move which status, in which tenant (one test per cell)', () => {
    for (const actor of ACTORS) {
      for (const { from, to } of TRANSITIONS) {
        const expected = expectedOnHamburg(actor);
        it(`${actor.id} (${actor.role}, ${actor.relation} tenant): hamburg script ${from} → ${to} is ${expected.status === 200 ? 'allowed' : expected.code}`, async () => {
          await arrange(executor, 'tool', from);
          const response = await changeStatus(executor, 'tool', { principalId: actor.id, to, hash: HASH.tool });
          assert.equal(response.status, expected.status, await response.clone().text());
          const stored = executor.store.catalog.getScript('tool');
          const audit = await lastAudit(executor);
          assert.equal(audit.type, 'script.status');
          assert.equal(audit.actor, actor.id);
          assert.deepEqual({ from: audit.detail.from, to: audit.detail.to, hash: audit.detail.hash }, { from, to, hash: HASH.tool });
          if (expected.status === 200) {
            const { script } = ScriptStatusResponseSchema.parse(await response.json());
            assert.equal(script.status, to);
            assert.equal(stored?.status, to);
            assert.equal(stored?.approvedHash, to === 'approved' || from === 'approved' ? HASH.tool : undefined, 'approving records the approved hash; nothing else sets it');
            assert.equal(audit.outcome, 'allowed');
          } else {
            assert.equal((await errorOf(response)).code, expected.code);
            assert.equal(stored?.status, from, 'nothing changed');
            assert.equal(audit.outcome, 'denied');
          }
        });
      }
    }

    for (const actorId of ['hugo', 'hana'] as const) {
      for (const { from, to } of TRANSITIONS) {
        it(`${actorId} (admin of the child tenant hamburg): a contoso script ${from} → ${to} is read-only from below`, async () => {
          await arrange(executor, 'root-tool', from);
          const response = await changeStatus(executor, 'root-tool', { principalId: actorId, to, hash: HASH.rootTool });
          assert.equal(response.status, 403);
          assert.equal((await errorOf(response)).code, 'DEPUTY_E_FORBIDDEN');
          assert.equal(executor.store.catalog.getScript('root-tool')?.status, from);
          assert.equal((await lastAudit(executor)).outcome, 'denied');
        });
      }
    }

    it('refuses transitions outside the lifecycle (draft → approved, approved → testing) with a conflict, even for an admin', async () => {
      for (const [from, to] of [['draft', 'approved'], ['approved', 'testing']] as const) {
        await arrange(executor, 'tool', from);
        const response = await changeStatus(executor, 'tool', { principalId: 'cyra', to, hash: HASH.tool });
        assert.equal(response.status, 409, `${from} → ${to}`);
        assert.equal((await errorOf(response)).code, 'DEPUTY_E_CONFLICT');
        assert.equal(executor.store.catalog.getScript('tool')?.status, from);
      }
    });

    it('refuses an unknown principal, an unknown script and a malformed body', async () => {
      const unknown = await changeStatus(executor, 'tool', { principalId: 'nobody', to: 'testing', hash: HASH.tool });
      assert.equal((await errorOf(unknown)).code, 'DEPUTY_E_NOT_ENROLLED');
      const missing = await changeStatus(executor, 'no-such-script', { principalId: 'cyra', to: 'testing', hash: HASH.tool });
      assert.equal(missing.status, 404);
      const malformed = await changeStatus(executor, 'tool', { principalId: 'cyra', to: 'published' as ScriptStatus, hash: 'abc' });
      assert.equal(malformed.status, 400);
      assert.deepEqual(Object.keys((await errorOf(malformed)).fields ?? {}).sort(), ['hash', 'to']);
    });

    it('needs the bearer token', async () => {
      const response = await fetch(`${executor.url}/v1/scripts/tool/status`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ principalId: 'cyra', to: 'testing', hash: HASH.tool }),
      });
      assert.equal(response.status, 401);
      assert.equal((await fetch(`${executor.url}/v1/approvals?principal=cyra`)).status, 401);
    });
  });

  describe('hash binding', () => {
    it('refuses a stale hash with a conflict and changes nothing', async () => {
      await arrange(executor, 'tool', 'testing');
      const stale = sha256('an older text of the tool');
      const response = await changeStatus(executor, 'tool', { principalId: 'cyra', to: 'approved', hash: stale });
      assert.equal(response.status, 409);
      const error = await errorOf(response);
      assert.equal(error.code, 'DEPUTY_E_CONFLICT');
      assert.match(error.message, /no longer current/);
      const script = executor.store.catalog.getScript('tool');
      assert.equal(script?.status, 'testing');
      assert.equal(script?.approvedHash, undefined);
      const audit = await lastAudit(executor);
      assert.equal(audit.outcome, 'denied');
      assert.equal(audit.detail.hash, stale);
    });
  });

  describe('two approvers at once', () => {
    it('lets one win; the other gets a conflict naming who decided', async () => {
      await arrange(executor, 'tool', 'draft');
      assert.equal((await changeStatus(executor, 'tool', { principalId: 'hana', to: 'testing', hash: HASH.tool })).status, 200);
      const [a, b] = await Promise.all([
        changeStatus(executor, 'tool', { principalId: 'cyra', to: 'approved', hash: HASH.tool, from: 'testing' }),
        changeStatus(executor, 'tool', { principalId: 'carl', to: 'draft', hash: HASH.tool, from: 'testing', comment: 'not like this' }),
      ]);
      assert.deepEqual([a.status, b.status].sort(), [200, 409]);
      const [winner, loser] = a.status === 200 ? [a, b] : [b, a];
      const { script } = ScriptStatusResponseSchema.parse(await winner.json());
      const error = await errorOf(loser);
      assert.equal(error.code, 'DEPUTY_E_CONFLICT');
      const winnerName = script.status === 'approved' ? 'Cyra' : 'Carl';
      assert.match(error.message, new RegExp(`already decided: ${winnerName}`));
      assert.equal(executor.store.catalog.getScript('tool')?.status, script.status);
    });
  });

  describe('reading', () => {
    it('lists the scripts a principal may view, by status; nothing sideways', async () => {
      await arrange(executor, 'tool', 'draft');
      await arrange(executor, 'root-tool', 'draft');
      const list = async (principal: string, status?: string) => {
        const response = await executor.api(`/v1/scripts?${new URLSearchParams({ principal, ...(status ? { status } : {}) })}`);
        assert.equal(response.status, 200, await response.clone().text());
        return ScriptListSchema.parse(await response.json()).scripts.map((script) => script.id).sort();
      };
      assert.deepEqual(await list('hana'), ['echo', 'greet', 'root-tool', 'tool']);
      assert.deepEqual(await list('hana', 'draft'), ['root-tool', 'tool']);
      assert.deepEqual(await list('cyra', 'testing'), ['echo']);
      assert.deepEqual(await list('milo'), ['root-tool'], 'munich sees its parent’s script, nothing of hamburg');
      assert.deepEqual(await list('rita', 'approved'), ['greet']);
      const unknown = await executor.api('/v1/scripts?principal=nobody');
      assert.equal((await errorOf(unknown)).code, 'DEPUTY_E_NOT_ENROLLED');
      assert.equal((await executor.api('/v1/scripts?principal=hana&status=published')).status, 400);
    });

    it('shows one script with versions, parameters, text, diff and the transitions the viewer may make', async () => {
      const get = async (principal: string) => {
        const response = await executor.api(`/v1/scripts/echo?principal=${principal}`);
        assert.equal(response.status, 200, await response.clone().text());
        return ScriptViewSchema.parse(await response.json());
      };
      const forAdmin = await get('hugo');
      assert.equal(forAdmin.status, 'testing');
      assert.equal(forAdmin.currentHash, HASH.echo);
      assert.deepEqual(forAdmin.parameters.map((field) => [field.name, field.required, field.label]), [['Message', true, 'What to say']]);
      assert.deepEqual(forAdmin.versions?.map((version) => [version.hash, version.status]), [[HASH.echo, 'testing']]);
      assert.equal(forAdmin.text, SCRIPT_TEXTS.echo);
      assert.deepEqual(forAdmin.allowedTransitions.sort(), ['approved', 'draft']);
      assert.equal(forAdmin.diff?.againstHash, undefined, 'never approved: the diff is against nothing');
      assert.ok(forAdmin.diff?.lines.includes('+$Message'));
      assert.deepEqual((await get('adam')).allowedTransitions, [], 'an administrator views, never moves');
      assert.equal((await executor.api('/v1/scripts/echo?principal=milo')).status, 404);
    });
  });

  describe('events', () => {
    it('asks the approvers on Testing (with the diff against the approved version) and tells the requester of the decision', async () => {
      // An approved version first, then a new text under review: the diff shows the change.
      await arrange(executor, 'tool', 'approved');
      const newText = SCRIPT_TEXTS.tool.replace('"tool $Name"', '"tool v2 $Name"');
      const newHash = sha256(newText);
      const snapshot = executor.store.catalog.snapshot();
      await executor.store.catalog.replace({
        ...snapshot,
        scripts: snapshot.scripts.map((script) =>
          script.id === 'tool' ? { ...script, status: 'draft', currentHash: newHash, versions: [...script.versions, newHash] } : script),
        versions: [...snapshot.versions, { hash: newHash, scriptId: 'tool', text: newText, parameters: [], createdAt: new Date().toISOString() }],
      });
      const { events, stop } = collectScriptEvents(executor);
      try {
        assert.equal((await changeStatus(executor, 'tool', { principalId: 'hana', to: 'testing', hash: newHash, comment: 'v2 please' })).status, 200);
        assert.equal((await changeStatus(executor, 'tool', { principalId: 'cyra', to: 'approved', hash: newHash })).status, 200);
      } finally {
        stop();
      }
      const [requested, decided] = events;
      assert.equal(requested?.type, 'script.review-requested');
      assert.deepEqual(requested?.notify, ['carl', 'cyra', 'hana', 'hugo'], 'the Cyber/Company admins of hamburg and above');
      assert.equal(requested?.change.by, 'hana');
      assert.equal(requested?.change.comment, 'v2 please');
      assert.equal(requested?.script.diff?.againstHash, HASH.tool);
      assert.deepEqual(requested?.script.diff?.lines.filter((line) => /^[-+][^-+]/.test(line)), ['-"tool $Name"', '+"tool v2 $Name"']);
      assert.equal(decided?.type, 'script.decided');
      assert.deepEqual(decided?.change, { from: 'testing', to: 'approved', hash: newHash, by: 'cyra', byName: 'Cyra' });
      assert.ok(decided?.notify.includes('hana'), 'the requester is told');
      assert.equal(decided?.script.review?.requestedBy, 'hana');
      assert.equal(decided?.script.review?.decision?.by, 'cyra');
      const stored = executor.store.catalog.getScript('tool');
      assert.equal(stored?.approvedHash, newHash, 'the approval names the exact hash it approved');
      // Restore the catalog's own text for the other tests.
      await executor.store.catalog.replace(snapshot);
    });
  });

  describe('run rights follow the status', () => {
    const run = (principalId: string) =>
      executor.api('/v1/runs', { method: 'POST', json: { actionId: 'echo-testing', principalId, inputs: { Message: `from ${principalId}` }, origin: { kind: 'api' } } });

    it('a Testing script runs for Cyber/Company admins only; once approved, for the action’s assignment', async () => {
      await arrange(executor, 'echo', 'testing');
      const byAdmin = await run('hugo');
      assert.equal(byAdmin.status, 202, await byAdmin.clone().text());
      const byAdministrator = await run('adam');
      assert.equal(byAdministrator.status, 403);
      assert.equal((await errorOf(byAdministrator)).code, 'DEPUTY_E_FORBIDDEN');

      assert.equal((await changeStatus(executor, 'echo', { principalId: 'cyra', to: 'approved', hash: HASH.echo })).status, 200);
      const afterApproval = await run('adam');
      assert.equal(afterApproval.status, 202, await afterApproval.clone().text());
      const { id } = (await afterApproval.json()) as { id: string };
      assert.deepEqual((await executor.waitForRun(id)).summary?.lines, ['from adam']);
      assert.equal((await run('rita')).status, 403, 'read-only never runs');
    });
  });
});

describe('script status across a restart and a re-import', function () {
  this.timeout(90_000);

  it('keeps a status changed over REST when the file is unchanged; a changed text is a new Draft version with the approved hash kept', async () => {
    const catalog = writeLifecycleCatalog();
    const first = await startTestExecutor({ catalog });
    let second: TestExecutor | undefined;
    let third: TestExecutor | undefined;
    try {
      assert.equal((await changeStatus(first, 'tool', { principalId: 'hana', to: 'testing', hash: HASH.tool })).status, 200);
      assert.equal((await changeStatus(first, 'tool', { principalId: 'cyra', to: 'approved', hash: HASH.tool })).status, 200);
      await first.close();

      second = await startTestExecutor({ catalog, dataDir: first.dataDir });
      const kept = ScriptViewSchema.parse(await (await second.api('/v1/scripts/tool?principal=hana')).json());
      assert.equal(kept.status, 'approved');
      assert.equal(kept.approvedHash, HASH.tool);
      assert.equal(kept.review?.decision?.by, 'cyra', 'the review record survives too');
      await second.close();

      const edited = SCRIPT_TEXTS.tool.replace('"tool $Name"', '"tool, edited $Name"');
      writeLifecycleCatalog(catalog, { tool: edited });
      third = await startTestExecutor({ catalog, dataDir: first.dataDir });
      const changed = ScriptViewSchema.parse(await (await third.api('/v1/scripts/tool?principal=hana')).json());
      assert.equal(changed.status, 'draft');
      assert.equal(changed.currentHash, sha256(edited));
      assert.equal(changed.approvedHash, HASH.tool);
      assert.equal(changed.review, undefined, 'the old review is about another hash');
      assert.deepEqual(changed.versions?.map((version) => version.status), ['approved', 'draft']);
      assert.ok(changed.diff?.lines.includes('+"tool, edited $Name"'));
    } finally {
      await third?.dispose();
      rmSync(catalog, { recursive: true, force: true });
      removeDataFolder(first.dataDir);
    }
  });
});

describe('approvals list and four-eyes runs over REST', function () {
  this.timeout(60_000);
  let executor: TestExecutor;
  let catalog: string;
  const clock = new ManualClock(Date.now());

  before(async () => {
    catalog = writeLifecycleCatalog();
    executor = await startTestExecutor({ catalog, clock });
  });
  after(async () => {
    await executor.dispose();
    rmSync(catalog, { recursive: true, force: true });
  });

  const request = async (principalId: string, who: string) => {
    const response = await executor.api('/v1/runs', { method: 'POST', json: { actionId: 'greet-four-eyes', principalId, inputs: { Who: who }, origin: { kind: 'api' } } });
    assert.equal(response.status, 202, await response.clone().text());
    return ((await response.json()) as { id: string }).id;
  };
  const approvals = async (principal: string) => {
    const response = await executor.api(`/v1/approvals?principal=${principal}`);
    assert.equal(response.status, 200, await response.clone().text());
    return ApprovalListSchema.parse(await response.json());
  };
  const decide = (runId: string, principalId: string, decision: 'approve' | 'reject') =>
    executor.api(`/v1/runs/${runId}/decision`, { method: 'POST', json: { principalId, decision } });

  it('lists Testing scripts and others’ four-eyes runs for an approver; nothing for the requester or a read-only user', async () => {
    const runId = await request('adam', 'listed');
    const forHana = await approvals('hana');
    assert.deepEqual(forHana.scripts.map((script) => script.id), ['echo']);
    assert.ok(forHana.runs.some((run) => run.id === runId));
    const forAdam = await approvals('adam');
    assert.deepEqual(forAdam.scripts, [], 'an administrator approves no scripts');
    assert.ok(!forAdam.runs.some((run) => run.id === runId), 'never one’s own run');
    assert.deepEqual(await approvals('rita'), { scripts: [], runs: [] });
    assert.deepEqual((await approvals('milo')).runs.filter((run) => run.id === runId), [], 'nothing sideways');
    assert.equal((await decide(runId, 'hana', 'reject')).status, 200);
  });

  it('refuses self-approval with its own code and an audit entry', async () => {
    const runId = await request('adam', 'myself');
    const response = await decide(runId, 'adam', 'approve');
    assert.equal(response.status, 403);
    const error = await errorOf(response);
    assert.equal(error.code, 'DEPUTY_E_SELF_APPROVAL');
    assert.match(error.message, /cannot approve your own request/);
    const audit = await lastAudit(executor);
    assert.deepEqual([audit.type, audit.outcome, audit.actor, audit.subject], ['run.decision', 'denied', 'adam', runId]);
    assert.equal((await executor.store.runs.get(runId))?.state, 'awaiting-approval');
    assert.equal((await decide(runId, 'hana', 'reject')).status, 200);
  });

  it('expires on the injected clock: gone from the list, refused as expired, rejected with reason "expired"', async () => {
    const runId = await request('adam', 'too late');
    const ttl = Date.parse((await executor.store.runs.get(runId))?.approval?.expiresAt ?? '') - clock.now();
    assert.ok(ttl > 0);
    clock.advance(ttl - 1);
    assert.ok((await approvals('hana')).runs.some((run) => run.id === runId), 'still open one millisecond before');
    clock.advance(1);
    assert.ok(!(await approvals('hana')).runs.some((run) => run.id === runId), 'expired requests are not listed');
    const late = await decide(runId, 'hana', 'approve');
    assert.equal(late.status, 410);
    assert.equal((await errorOf(late)).code, 'DEPUTY_E_EXPIRED');
    const run = (await executor.store.runs.get(runId));
    assert.equal(run?.state, 'rejected');
    assert.equal(run?.approval?.reason, 'expired');

    const swept = await request('adam', 'swept');
    clock.advance(ttl);
    assert.equal(await executor.runs.expireApprovals(), 1);
    assert.equal((await executor.store.runs.get(swept))?.approval?.reason, 'expired');
  });
});
