/**
 * One test per rights cell of script authoring, through the REST API (real restify, real pwsh,
 * file store): create, edit (a new version), clone and delete × role × status × the tenant the
 * script lies in, seen from the actor's (own, child, parent, sideways). The expected answers
 * are written out from the seed's table below, not computed by the policy under test.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { ErrorBodySchema, ScriptChangeResponseSchema, type ScriptStatus } from '../../../executor/contract/index.ts';
import type { Script } from '../../../executor/domain.ts';
import { startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { RELATIONS, ROLE_ACTORS, TOOL_TEXT, sha256, writeAuthoringCatalog, type Relation, type RoleActor } from './catalog.ts';

type Verb = 'create' | 'edit' | 'clone' | 'delete';
const STATUSES: ScriptStatus[] = ['draft', 'testing', 'approved'];

/**
 * The seed's table for scripts, for an actor in hamburg:
 * - Cyber and Company admins: create, edit, clone, delete in every status;
 * - Administrator and User: create, edit, delete a Draft; clone in every status;
 * - Read-only: nothing but view;
 * and the tenant tree: a parent's script is read-only below (cloning it is reading it), a
 * sibling tenant's is not even found.
 */
function expected(verb: Verb, actor: RoleActor, status: ScriptStatus, where: Relation): { status: number; code?: string } {
  const ok = { status: verb === 'delete' ? 200 : 201 };
  if (where.relation === 'sideways') return { status: 404, code: 'DEPUTY_E_NOT_FOUND' };
  if (actor.role === 'read-only') return { status: 403, code: 'DEPUTY_E_FORBIDDEN' };
  if (where.relation === 'parent') return verb === 'clone' ? ok : { status: 403, code: 'DEPUTY_E_FORBIDDEN' };
  const admin = actor.role === 'company-admin' || actor.role === 'cyber-admin';
  if (verb === 'edit' || verb === 'delete') return admin || status === 'draft' ? ok : { status: 403, code: 'DEPUTY_E_FORBIDDEN' };
  return ok;
}

describe('script authoring rights over REST (one test per cell)', function () {
  this.timeout(120_000);
  let executor: TestExecutor;
  let folder: string;
  const originals = new Map<string, Script>();
  let cell = 0;

  before(async () => {
    folder = writeAuthoringCatalog();
    executor = await startTestExecutor({ catalog: folder, config: { planTickMs: 0 } });
    for (const { script } of RELATIONS) originals.set(script, executor.store.catalog.getScript(script) as Script);
  });
  after(async () => {
    await executor.dispose();
    rmSync(folder, { recursive: true, force: true });
  });

  /** Puts the script back as imported, in `status` (the arrangement step of each cell). */
  async function arrange(scriptId: string, status: ScriptStatus): Promise<Script> {
    const original = originals.get(scriptId) as Script;
    const { approvedHash: _approved, ...rest } = original;
    const script: Script = status === 'approved' ? { ...rest, status, approvedHash: original.currentHash } : { ...rest, status };
    const snapshot = executor.store.catalog.snapshot();
    const others = snapshot.scripts.filter((candidate) => candidate.id !== scriptId);
    await executor.store.catalog.replace({ ...snapshot, scripts: [...others, script] });
    return script;
  }

  async function lastAudit() {
    const [entry] = await executor.store.audit.read({ limit: 1 });
    assert.ok(entry);
    return entry;
  }

  async function check(response: Response, want: { status: number; code?: string }, type: string, actor: string): Promise<unknown> {
    const body = await response.text();
    assert.equal(response.status, want.status, body);
    if (want.code) assert.equal(ErrorBodySchema.parse(JSON.parse(body)).error.code, want.code);
    const audit = await lastAudit();
    assert.equal(audit.type, type);
    assert.equal(audit.actor, actor);
    assert.equal(audit.outcome, want.code ? 'denied' : 'allowed');
    return JSON.parse(body);
  }

  for (const actor of ROLE_ACTORS) {
    for (const where of RELATIONS) {
      const want = expected('create', actor, 'draft', where);
      it(`create: ${actor.id} (${actor.role}) in the ${where.relation} tenant ${where.tenant} → ${want.code ?? want.status}`, async () => {
        const id = `created-${++cell}`;
        const text = `param([string]$Who)\n"created ${cell} for $Who"\n`;
        const response = await executor.api('/v1/scripts', { method: 'POST', json: { principalId: actor.id, tenant: where.tenant, id, name: `Created ${cell}`, text } });
        await check(response, want, 'script.create', actor.id);
        const stored = executor.store.catalog.getScript(id);
        if (want.code) return assert.equal(stored, undefined, 'nothing was created');
        assert.equal(stored?.status, 'draft');
        assert.equal(stored?.tenant, where.tenant);
        assert.equal(stored?.currentHash, sha256(text));
        assert.equal((await lastAudit()).detail.hash, sha256(text));
        assert.deepEqual(executor.store.catalog.getVersion(sha256(text))?.parameters.map((field) => field.name), ['Who'], 'parameters parsed as at import');
      });
    }
  }

  for (const actor of ROLE_ACTORS) {
    for (const where of RELATIONS) {
      for (const status of STATUSES) {
        const want = expected('edit', actor, status, where);
        it(`edit: ${actor.id} (${actor.role}), a ${status} script of the ${where.relation} tenant → ${want.code ?? want.status}`, async () => {
          const before = await arrange(where.script, status);
          const text = `${TOOL_TEXT(where.tenant)}# edit ${++cell}\n`;
          const response = await executor.api(`/v1/scripts/${where.script}/versions`, { method: 'POST', json: { principalId: actor.id, text, basedOn: before.currentHash } });
          const body = await check(response, want, 'script.version', actor.id);
          const stored = executor.store.catalog.getScript(where.script) as Script;
          if (want.code) {
            assert.equal(stored.currentHash, before.currentHash, 'the text is unchanged');
            assert.equal(stored.status, status);
            return;
          }
          const { script } = ScriptChangeResponseSchema.parse(body);
          assert.equal(script.currentHash, sha256(text));
          assert.equal(stored.status, 'draft', 'a new version is a Draft');
          assert.equal(stored.approvedHash, before.approvedHash, 'the approved hash is kept, never changed in place');
          const audit = await lastAudit();
          assert.deepEqual([audit.detail.hash, audit.detail.previousHash, audit.detail.basedOn], [sha256(text), before.currentHash, before.currentHash]);
        });
      }
    }
  }

  for (const actor of ROLE_ACTORS) {
    for (const where of RELATIONS) {
      for (const status of STATUSES) {
        const want = expected('clone', actor, status, where);
        it(`clone: ${actor.id} (${actor.role}), a ${status} script of the ${where.relation} tenant into hamburg → ${want.code ?? want.status}`, async () => {
          const source = await arrange(where.script, status);
          const id = `clone-${++cell}`;
          const response = await executor.api(`/v1/scripts/${where.script}/clone`, { method: 'POST', json: { principalId: actor.id, tenant: 'hamburg', id } });
          await check(response, want, 'script.clone', actor.id);
          const stored = executor.store.catalog.getScript(id);
          if (want.code) return assert.equal(stored, undefined);
          assert.deepEqual(stored?.clonedFrom, { id: where.script, hash: source.currentHash });
          assert.equal(stored?.status, 'draft');
          assert.equal(stored?.currentHash, source.currentHash, 'the very text of the origin');
          assert.equal(executor.store.catalog.getScript(where.script)?.status, status, 'the origin is untouched');
        });
      }
    }
  }

  for (const actor of ROLE_ACTORS) {
    for (const where of RELATIONS) {
      for (const status of STATUSES) {
        const want = expected('delete', actor, status, where);
        it(`delete: ${actor.id} (${actor.role}), a ${status} script of the ${where.relation} tenant → ${want.code ?? want.status}`, async () => {
          const before = await arrange(where.script, status);
          const response = await executor.api(`/v1/scripts/${where.script}?principal=${actor.id}`, { method: 'DELETE' });
          await check(response, want, 'script.delete', actor.id);
          const stored = executor.store.catalog.getScript(where.script);
          if (want.code) return assert.equal(stored?.currentHash, before.currentHash, 'still there');
          assert.equal(stored, undefined, 'deleted');
          assert.equal((await lastAudit()).detail.hash, before.currentHash);
        });
      }
    }
  }
});
