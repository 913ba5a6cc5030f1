/**
 * The authoring tests' catalog, written into a temporary folder: a tenant line
 * contoso → hamburg → hamburg-lab with munich beside hamburg, one principal per role in
 * hamburg (so every other tenant is a parent, a child or sideways of theirs), and a script in
 * each of those tenants whose status each test arranges.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Who acts: one principal per role, all in hamburg, plus admins above and beside. */
export const ROLE_ACTORS = [
  { id: 'hana', role: 'company-admin' },
  { id: 'hugo', role: 'cyber-admin' },
  { id: 'adam', role: 'administrator' },
  { id: 'uma', role: 'user' },
  { id: 'rolf', role: 'read-only' },
] as const;
export type RoleActor = (typeof ROLE_ACTORS)[number];

/** Where an object lies, seen from hamburg. */
export const RELATIONS = [
  { relation: 'own', tenant: 'hamburg', script: 'own-tool' },
  { relation: 'child', tenant: 'hamburg-lab', script: 'lab-tool' },
  { relation: 'parent', tenant: 'contoso', script: 'central-tool' },
  { relation: 'sideways', tenant: 'munich', script: 'munich-tool' },
] as const;
export type Relation = (typeof RELATIONS)[number];

export const TOOL_TEXT = (tenant: string) => `<#\n.SYNOPSIS\nA tool of ${tenant}.\n#>\nparam([string]$Name = "x")\n"${tenant} tool $Name"\n`;

export const ECHO_TEXT = 'param([Parameter(Mandatory)][string]$Message)\n"echo: $Message"\n';

export function writeAuthoringCatalog(folder = mkdtempSync(join(tmpdir(), 'deputy-authoring-catalog-'))): string {
  mkdirSync(join(folder, 'scripts'), { recursive: true });
  for (const { tenant, script } of RELATIONS) writeFileSync(join(folder, 'scripts', `${script}.ps1`), TOOL_TEXT(tenant));
  writeFileSync(join(folder, 'scripts', 'echo.ps1'), ECHO_TEXT);
  const principals = [
    ...ROLE_ACTORS.map((actor) => ({ ...actor, tenant: 'hamburg' })),
    { id: 'cyra', role: 'cyber-admin', tenant: 'contoso' },
    { id: 'milo', role: 'company-admin', tenant: 'munich' },
  ]
    // A web chat identity each: the bot's token speaks only for principals people chat as.
    .map((actor) => `  - { id: ${actor.id}, name: ${actor.id[0]?.toUpperCase()}${actor.id.slice(1)}, tenant: ${actor.tenant}, roles: [${actor.role}], workloads: [${actor.id}-laptop], identities: { webchat: ${actor.id} } }`)
    .join('\n');
  const scripts = RELATIONS.map(({ tenant, script }) => `  - { id: ${script}, file: scripts/${script}.ps1, tenant: ${tenant}, status: approved }`).join('\n');
  writeFileSync(
    join(folder, 'catalog.yaml'),
    `tenants:
  - { id: contoso, name: Contoso }
  - { id: hamburg, name: Contoso Hamburg, parent: contoso }
  - { id: hamburg-lab, name: Hamburg lab, parent: hamburg }
  - { id: munich, name: Contoso Munich, parent: contoso }
principals:
${principals}
scripts:
${scripts}
  - { id: echo, file: scripts/echo.ps1, tenant: hamburg, status: approved }
actions:
  - id: echo
    script: echo
    title: Echo a message
    runAs: pool
    allow: { roles: [company-admin, cyber-admin, administrator, user] }
    ownWorkloadParameter: Message
    timeoutSeconds: 30
  - id: echo-pinned
    script: echo
    version: ${sha256(ECHO_TEXT)}
    title: Echo, exactly this version (whatever its status)
    runAs: pool
    allow: { roles: [company-admin, cyber-admin, administrator, user] }
    ownWorkloadParameter: Message
    timeoutSeconds: 30
  - id: central-echo
    script: central-tool
    tenant: contoso
    title: The central tool
    runAs: pool
    allow: { roles: [company-admin, cyber-admin, administrator] }
    timeoutSeconds: 30
plans:
  - { id: central-nightly, tenant: contoso, principal: cyra, action: central-echo, schedule: "0 3 * * *" }
`,
  );
  return folder;
}
