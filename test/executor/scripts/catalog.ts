/**
 * The lifecycle tests' catalog, written into a temporary folder: one principal per role and
 * tenant relation, scripts in a child and a root tenant, and an action pinned to a Testing
 * version (its hash is only known once the text is written, hence a generated catalog).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SCRIPT_TEXTS = {
  tool: 'param([string]$Name = "x")\n"tool $Name"\n',
  rootTool: 'param([string]$Name = "x")\n"root tool $Name"\n',
  echo: '<#\n.PARAMETER Message\nWhat to say.\n#>\nparam([Parameter(Mandatory)][string]$Message)\n$Message\n',
  greet: 'param([Parameter(Mandatory)][string]$Who)\n"hello $Who"\n',
} as const;

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Who acts, and how they stand to the tenant `hamburg` (where `tool` lives):
 * admins of its parent and of itself, an admin sideways, and the roles that never change status.
 */
export const ACTORS = [
  { id: 'cyra', role: 'cyber-admin', tenant: 'contoso', relation: 'parent' },
  { id: 'carl', role: 'company-admin', tenant: 'contoso', relation: 'parent' },
  { id: 'hugo', role: 'cyber-admin', tenant: 'hamburg', relation: 'own' },
  { id: 'hana', role: 'company-admin', tenant: 'hamburg', relation: 'own' },
  { id: 'milo', role: 'company-admin', tenant: 'munich', relation: 'sideways' },
  { id: 'adam', role: 'administrator', tenant: 'hamburg', relation: 'own' },
  { id: 'uma', role: 'user', tenant: 'hamburg', relation: 'own' },
  { id: 'rita', role: 'read-only', tenant: 'contoso', relation: 'parent' },
] as const;

/** Writes the catalog; `texts` overrides script texts (to simulate an edited file). */
export function writeLifecycleCatalog(folder = mkdtempSync(join(tmpdir(), 'deputy-lifecycle-catalog-')), texts: Partial<Record<keyof typeof SCRIPT_TEXTS, string>> = {}): string {
  const scripts = { ...SCRIPT_TEXTS, ...texts };
  mkdirSync(join(folder, 'scripts'), { recursive: true });
  writeFileSync(join(folder, 'scripts', 'Tool.ps1'), scripts.tool);
  writeFileSync(join(folder, 'scripts', 'RootTool.ps1'), scripts.rootTool);
  writeFileSync(join(folder, 'scripts', 'Echo.ps1'), scripts.echo);
  writeFileSync(join(folder, 'scripts', 'Greet.ps1'), scripts.greet);
  const principals = ACTORS.map(
    (actor) => `  - { id: ${actor.id}, name: ${actor.id[0]?.toUpperCase()}${actor.id.slice(1)}, tenant: ${actor.tenant}, roles: [${actor.role}], identities: { webchat: ${actor.id} } }`,
  ).join('\n');
  const yaml = `tenants:
  - { id: contoso, name: Contoso }
  - { id: hamburg, name: Contoso Hamburg, parent: contoso }
  - { id: munich, name: Contoso Munich, parent: contoso }
principals:
${principals}
scripts:
  - { id: tool, file: scripts/Tool.ps1, tenant: hamburg }
  - { id: root-tool, file: scripts/RootTool.ps1, tenant: contoso }
  - { id: echo, file: scripts/Echo.ps1, tenant: hamburg, status: testing }
  - { id: greet, file: scripts/Greet.ps1, tenant: hamburg, status: approved }
actions:
  - id: echo-testing
    script: echo
    version: ${sha256(SCRIPT_TEXTS.echo)}
    title: Echo (pinned to the version under test)
    runAs: pool
    allow: { roles: [administrator, cyber-admin, company-admin] }
    timeoutSeconds: 30
  - id: greet-four-eyes
    script: greet
    title: Greet after a second person approves
    runAs: pool
    approval: four-eyes
    allow: { roles: [administrator] }
    timeoutSeconds: 30
`;
  writeFileSync(join(folder, 'catalog.yaml'), yaml);
  return folder;
}
