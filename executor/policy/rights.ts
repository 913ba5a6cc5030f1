/**
 * The roles × object × status rights table, as data.
 *
 * Source: `seeds/003_bd7a080f20978879.txt` ("User roles and Cyber Scripting rights"), copied
 * into DESIGN.md "Domain". Each cell below quotes the seed's wording next to the verbs it
 * became, so a reader can check the table against the source line by line.
 *
 * The status column is the script's status; for a scripting plan it is the status of the
 * scripts in it (a plan holding a Draft script is in the Draft column).
 */
import { ROLES, SCRIPT_STATUSES, type Role, type ScriptStatus } from '../contract/index.ts';

/** What one can do with a script. `cancel-running` is the seed's "Cancel running". */
export const SCRIPT_VERBS = ['create', 'edit', 'change-status', 'run', 'clone', 'delete', 'cancel-running', 'view'] as const;
export type ScriptVerb = (typeof SCRIPT_VERBS)[number];

/**
 * What one can do with a scripting plan. `edit-remove-draft` is the seed's
 * "Edit (Remove a draft script from a plan)"; `cancel-run` is its "Cancel run" (of a plan's run),
 * kept apart from `stop` because the seed names both.
 */
export const PLAN_VERBS = [
  'create',
  'edit',
  'edit-remove-draft',
  'apply',
  'enable',
  'run',
  'delete',
  'revoke',
  'disable',
  'stop',
  'cancel-run',
  'view',
] as const;
export type PlanVerb = (typeof PLAN_VERBS)[number];

export const POLICY_OBJECTS = ['script', 'plan'] as const;
export type PolicyObject = (typeof POLICY_OBJECTS)[number];
export type VerbOf<O extends PolicyObject> = O extends 'script' ? ScriptVerb : PlanVerb;
export type Verb = ScriptVerb | PlanVerb;

type Column<V> = Readonly<Record<ScriptStatus, readonly V[]>>;

export interface RoleGroupRights {
  /** The seed's row label. */
  readonly label: string;
  readonly roles: readonly Role[];
  readonly script: Column<ScriptVerb>;
  readonly plan: Column<PlanVerb>;
}

/** The table exactly as the seed words it: no implied rights here (see `IMPLIED_RIGHTS`). */
export const RIGHTS_TABLE: readonly RoleGroupRights[] = [
  {
    label: 'Cyber administrator, Company administrator',
    roles: ['company-admin', 'cyber-admin'],
    script: {
      // "Create Edit Change status Clone Delete Cancel running"
      draft: ['create', 'edit', 'change-status', 'clone', 'delete', 'cancel-running'],
      // "Create Edit Change status Run Clone Delete Cancel running"
      testing: ['create', 'edit', 'change-status', 'run', 'clone', 'delete', 'cancel-running'],
      // "Create Edit Change status Run Clone Delete Cancel running"
      approved: ['create', 'edit', 'change-status', 'run', 'clone', 'delete', 'cancel-running'],
    },
    plan: {
      // "Edit (Remove a draft script from a plan) Delete Revoke Disable Stop"
      draft: ['edit-remove-draft', 'delete', 'revoke', 'disable', 'stop'],
      // "Create Edit Apply Enable Run Delete Revoke Disable Stop"
      testing: ['create', 'edit', 'apply', 'enable', 'run', 'delete', 'revoke', 'disable', 'stop'],
      // "Create Edit Apply Enable Run Delete Revoke Disable Stop"
      approved: ['create', 'edit', 'apply', 'enable', 'run', 'delete', 'revoke', 'disable', 'stop'],
    },
  },
  {
    // The User role has the same cells, limited to the user's own workloads: the policy
    // check applies that limit (WORKLOAD_BOUND_VERBS), the table does not.
    label: 'Administrator, User (for their own workloads)',
    roles: ['administrator', 'user'],
    script: {
      // "Create Edit Clone Delete Cancel running"
      draft: ['create', 'edit', 'clone', 'delete', 'cancel-running'],
      // "View Clone Cancel running"
      testing: ['view', 'clone', 'cancel-running'],
      // "Run Clone Cancel running"
      approved: ['run', 'clone', 'cancel-running'],
    },
    plan: {
      // "View Edit Revoke Disable Stop"
      draft: ['view', 'edit', 'revoke', 'disable', 'stop'],
      // "View Cancel run"
      testing: ['view', 'cancel-run'],
      // "Create Edit Apply Enable Run Delete Revoke Disable Stop"
      approved: ['create', 'edit', 'apply', 'enable', 'run', 'delete', 'revoke', 'disable', 'stop'],
    },
  },
  {
    label: 'Read-only administrator',
    roles: ['read-only'],
    // "View" in every cell, for both objects.
    script: { draft: ['view'], testing: ['view'], approved: ['view'] },
    plan: { draft: ['view'], testing: ['view'], approved: ['view'] },
  },
];

/**
 * Rights the seed leaves unsaid but plainly means:
 * - whoever may do anything with an object may see it (the admins' cells never say "View");
 * - a full "Edit" of a plan includes removing a Draft script from it.
 */
export const IMPLIED_RIGHTS = {
  script: (granted: ReadonlySet<ScriptVerb>): ScriptVerb[] => (granted.size > 0 ? ['view'] : []),
  plan: (granted: ReadonlySet<PlanVerb>): PlanVerb[] => [
    ...(granted.size > 0 ? (['view'] as const) : []),
    ...(granted.has('edit') ? (['edit-remove-draft'] as const) : []),
  ],
} as const satisfies { [O in PolicyObject]: (granted: ReadonlySet<VerbOf<O>>) => VerbOf<O>[] };

/**
 * Verbs that act on workloads (machines, accounts). A right that comes only from the User
 * role covers these on the user's own workloads alone. Every plan verb does: a plan is
 * applied to workloads.
 */
export const WORKLOAD_BOUND_VERBS: { readonly [O in PolicyObject]: ReadonlySet<VerbOf<O>> } = {
  script: new Set<ScriptVerb>(['run', 'cancel-running']),
  plan: new Set<PlanVerb>(PLAN_VERBS),
};

/**
 * What may be done from below with an object that belongs to an ancestor tenant: it is
 * visible and usable (an action applied from above can be run), never changed. A script from
 * above may be cloned: the copy lands in a tenant the principal manages, and the original stays
 * as it is (the Aurubis seed's central repository that each site clones and adapts locally).
 */
export const READ_ONLY_FROM_BELOW: { readonly [O in PolicyObject]: ReadonlySet<VerbOf<O>> } = {
  script: new Set<ScriptVerb>(['view', 'run', 'clone']),
  plan: new Set<PlanVerb>(['view']),
};

type RightsIndex = ReadonlyMap<string, ReadonlySet<Verb>>;

function cellKey(role: string, object: string, status: string): string {
  return `${role}\u0000${object}\u0000${status}`;
}

function withImplied<O extends PolicyObject>(object: O, verbs: readonly VerbOf<O>[]): ReadonlySet<VerbOf<O>> {
  const granted = new Set<VerbOf<O>>(verbs);
  const implied = (IMPLIED_RIGHTS[object] as (g: ReadonlySet<VerbOf<O>>) => VerbOf<O>[])(granted);
  return new Set([...granted, ...implied]);
}

function buildIndex(table: readonly RoleGroupRights[]): RightsIndex {
  const index = new Map<string, ReadonlySet<Verb>>();
  for (const group of table) {
    for (const role of group.roles) {
      for (const status of SCRIPT_STATUSES) {
        index.set(cellKey(role, 'script', status), withImplied('script', group.script[status]));
        index.set(cellKey(role, 'plan', status), withImplied('plan', group.plan[status]));
      }
    }
  }
  for (const role of ROLES) {
    if (!index.has(cellKey(role, 'script', 'draft'))) throw new Error(`rights table has no row for role "${role}"`);
  }
  return index;
}

/** Built once from the constant table; never mutated. */
const RIGHTS_INDEX = buildIndex(RIGHTS_TABLE);

/**
 * The verbs a role has on an object in a status, implied rights included; `undefined` for a
 * role, object or status the table does not know (the caller must refuse, not guess).
 */
export function rightsFor<O extends PolicyObject>(role: string, object: O, status: string): ReadonlySet<VerbOf<O>> | undefined {
  return RIGHTS_INDEX.get(cellKey(role, object, status)) as ReadonlySet<VerbOf<O>> | undefined;
}

export function hasRight<O extends PolicyObject>(role: string, object: O, status: string, verb: VerbOf<O>): boolean {
  return rightsFor(role, object, status)?.has(verb) ?? false;
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function isScriptStatus(value: string): value is ScriptStatus {
  return (SCRIPT_STATUSES as readonly string[]).includes(value);
}
