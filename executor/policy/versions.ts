/**
 * Which version of a script an action runs, and what status that version has. The run
 * service must run exactly the hash the policy decided on, so both use this.
 */
import type { ErrorCode, ScriptStatus } from '../contract/index.ts';
import type { Action, Script } from '../domain.ts';

export type VersionResolution =
  | { ok: true; hash: string; status: ScriptStatus }
  | { ok: false; code: ErrorCode; reason: string };

/**
 * The status of one version of a script:
 * - the current version has the script's status;
 * - the last approved version stays approved after a change sends the script back to Draft
 *   (an approved hash never changes under anyone's feet);
 * - any other version is superseded and counts as Draft: nobody runs it.
 * `undefined` when the hash is not a version of this script.
 */
export function versionStatus(script: Script, hash: string): ScriptStatus | undefined {
  if (!script.versions.includes(hash)) return undefined;
  if (hash === script.currentHash) return script.status;
  if (hash === script.approvedHash) return 'approved';
  return 'draft';
}

/** The version an action runs: its pinned hash, or the script's latest approved version. */
export function resolveActionVersion(action: Action, script: Script): VersionResolution {
  if (action.version === 'latest-approved') {
    const hash = script.status === 'approved' ? script.currentHash : script.approvedHash;
    if (hash === undefined) {
      return { ok: false, code: 'DEPUTY_E_CONFLICT', reason: `script "${script.id}" has no approved version` };
    }
    const status = versionStatus(script, hash);
    if (status !== 'approved') {
      return { ok: false, code: 'DEPUTY_E_NOT_FOUND', reason: `approved version ${hash} is not among the versions of script "${script.id}"` };
    }
    return { ok: true, hash, status };
  }
  const status = versionStatus(script, action.version);
  if (status === undefined) {
    return { ok: false, code: 'DEPUTY_E_NOT_FOUND', reason: `pinned version ${action.version} is not a version of script "${script.id}"` };
  }
  return { ok: true, hash: action.version, status };
}

/**
 * The version a query runs: the script's latest approved one; while it has none, its current
 * one, whose status (Draft: nobody; Testing: admins) then decides who may run it.
 */
export function queryVersion(script: Script): { hash: string; status: ScriptStatus } {
  if (script.status !== 'approved' && script.approvedHash !== undefined && script.versions.includes(script.approvedHash)) {
    return { hash: script.approvedHash, status: 'approved' };
  }
  return { hash: script.currentHash, status: script.status };
}
