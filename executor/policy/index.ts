/** The policy check's public surface: import from here. */
export { ACTION_AUTHORS, ADMIN_ROLES, Policy, STATUS_TRANSITIONS, deniedError, throwIfDenied } from './policy.ts';
export type { ApprovalSubject, Decision, Denied, PlanRef, PolicyCatalog, RunRef } from './policy.ts';
export { PLAN_VERBS, POLICY_OBJECTS, RIGHTS_TABLE, SCRIPT_VERBS, hasRight, rightsFor } from './rights.ts';
export type { PlanVerb, PolicyObject, ScriptVerb, Verb } from './rights.ts';
export { TenantTree } from './tenants.ts';
export type { TenantRelation } from './tenants.ts';
export { resolveActionVersion, versionStatus } from './versions.ts';
export type { VersionResolution } from './versions.ts';
