/** Records for the store tests: a small valid catalog, run records and an event. */
import type { CatalogSnapshot } from '../../../executor/store/port.ts';
import type { RunRecord } from '../../../executor/domain.ts';
import type { PlanEventInput } from '../../../executor/events.ts';

export const HASH_A = 'a'.repeat(64);
export const HASH_B = 'b'.repeat(64);

export function catalogFixture(): CatalogSnapshot {
  return {
    tenants: [
      { id: 'contoso', name: 'Contoso' },
      { id: 'hamburg', name: 'Contoso Hamburg', parent: 'contoso' },
    ],
    principals: [
      {
        id: 'alex',
        name: 'Alex (helpdesk)',
        tenant: 'hamburg',
        roles: ['administrator'],
        identities: {
          webchat: 'alex',
          slack: { teamId: 'T1', userId: 'U1' },
          teams: { tenantId: '6F1C2D3E-0000-4000-8000-00000000AAAA', aadObjectId: '0B5E9F00-1111-4111-8111-00000000BBBB' },
        },
        workloads: [],
      },
      { id: 'casey', name: 'Casey (cyber)', tenant: 'contoso', roles: ['cyber-admin'], identities: { webchat: 'casey', slack: { teamId: 'T1', userId: 'U2' } }, workloads: [] },
    ],
    scripts: [{ id: 'disk-usage', name: 'Disk usage', tenant: 'contoso', status: 'approved', currentHash: HASH_A, approvedHash: HASH_A, versions: [HASH_A] }],
    versions: [{ hash: HASH_A, scriptId: 'disk-usage', text: 'param([string]$Path = "/")\nGet-PSDrive', parameters: [], createdAt: '2026-01-01T00:00:00.000Z' }],
    actions: [
      {
        id: 'disk-usage',
        title: 'Disk usage',
        scriptId: 'disk-usage',
        version: 'latest-approved',
        tenant: 'contoso',
        runAs: { kind: 'pool' },
        fixed: {},
        presets: {},
        allow: { roles: ['administrator'], principals: [] },
        approval: 'none',
        timeoutSeconds: 60,
        notify: [],
      },
    ],
  };
}

export function runFixture(id: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    actionId: 'disk-usage',
    actionTitle: 'Disk usage',
    principalId: 'alex',
    tenant: 'hamburg',
    state: 'queued',
    inputs: { Path: '/' },
    origin: { kind: 'webchat', conversationId: 'c1' },
    correlationId: `corr-${id}`,
    scriptId: 'disk-usage',
    scriptHash: HASH_A,
    runAs: { kind: 'pool' },
    timeoutSeconds: 60,
    notify: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

/** An event to publish, told apart by its plan id. */
export function planEventFixture(id: string): PlanEventInput {
  return {
    type: 'plan.missed',
    plan: { id, tenant: 'contoso', principalId: 'alex', actionId: 'disk-usage' },
    missed: { count: 1, first: '2026-03-01T00:00:00.000Z', last: '2026-03-01T00:00:00.000Z' },
    notify: [],
  };
}
