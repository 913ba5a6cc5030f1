/**
 * A fleet of target systems for tests: two real sshd daemons on loopback (web-01 and web-02),
 * a catalog naming them (and a User's laptop, a Munich machine, one with a changed host key and
 * one that is down), and a data folder whose vault holds the fleet's private key.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCredentialVault } from '../../executor/credentials/index.ts';
import type { Clock } from '../../lib/clock.ts';
import { silentLogger } from '../../lib/logger.ts';
import { pwshPath } from '../executor/pwsh/helpers.ts';
import { removeDataFolder } from './executor.ts';
import { generateKeyPair, startSilentServer, startSshd, type TestSshd } from './sshd.ts';

const SCRIPT = `param([string] $Greeting = 'hello')
"$Greeting from pid $PID"
`;
const SLOW = `"pid=$PID"; Start-Sleep 120`;

function catalogYaml(web01: TestSshd, web02: TestSshd, closedPort: number, strangerKey: string): string {
  const target = (id: string, tenant: string, port: number, hostKey: string, extra = '') =>
    `  - { id: ${id}, name: "Machine ${id}", tenant: ${tenant}, host: 127.0.0.1, port: ${port}, user: ${web01.user}, credential: fleet-key, hostKey: "${hostKey}", pwsh: ${pwshPath()}${extra} }`;
  return `
tenants:
  - { id: contoso, name: Contoso }
  - { id: hamburg, name: Hamburg, parent: contoso }
  - { id: munich, name: Munich, parent: contoso }
principals:
  - { id: alex, name: Alex, tenant: hamburg, roles: [administrator], identities: { webchat: alex } }
  - { id: bob, name: Bob, tenant: hamburg, roles: [administrator], identities: { webchat: bob } }
  - { id: max, name: Max, tenant: munich, roles: [administrator], identities: { webchat: max } }
  - { id: uma, name: Uma, tenant: hamburg, roles: [user], identities: { webchat: uma } }
  - { id: cyra, name: Cyra, tenant: contoso, roles: [cyber-admin], identities: { webchat: cyra } }
credentials:
  - { id: fleet-key, tenant: contoso, kind: secret }
targets:
${target('web-01', 'hamburg', web01.port, web01.hostKey)}
${target('web-02', 'hamburg', web02.port, web02.hostKey)}
${target('uma-laptop', 'hamburg', web01.port, web01.hostKey, ', owner: uma')}
${target('munich-01', 'munich', web02.port, web02.hostKey)}
${target('web-moved', 'hamburg', web01.port, strangerKey)}
${target('web-down', 'hamburg', closedPort, web01.hostKey)}
scripts:
  - { id: greet, file: scripts/Greet.ps1, tenant: contoso, status: approved }
  - { id: slow, file: scripts/Slow.ps1, tenant: contoso, status: approved }
actions:
  - id: greet-web
    script: greet
    title: Greet the web servers
    tenant: contoso
    runAs: pool
    targets: [web-01, web-02, web-moved, web-down, munich-01]
    allow: { roles: [administrator] }
    timeoutSeconds: 60
  - id: greet-own
    script: greet
    title: Greet my machine
    tenant: hamburg
    runAs: service
    targets: { tenant: hamburg }
    allow: { roles: [user, administrator] }
    timeoutSeconds: 60
  - id: greet-careful
    script: greet
    title: Greet with a second pair of eyes
    tenant: hamburg
    runAs: service
    targets: [web-01, web-02]
    approval: four-eyes
    allow: { roles: [administrator] }
    timeoutSeconds: 60
  - id: slow-web
    script: slow
    title: Take a while
    tenant: hamburg
    runAs: pool
    targets: [web-01]
    allow: { roles: [administrator] }
    timeoutSeconds: 20
plans:
  - { id: nightly-greeting, principal: alex, action: greet-web, schedule: "0 3 * * *", targets: [web-01, web-02], inputs: { Greeting: night } }
`;
}

export interface TargetFleet {
  web01: TestSshd;
  web02: TestSshd;
  /** The catalog folder. */
  folder: string;
  /** A data folder whose credential vault holds the fleet's key. */
  dataDir: string;
  cleanup(): Promise<void>;
}

export async function startTargetFleet(clock: Clock): Promise<TargetFleet> {
  const fleet = generateKeyPair();
  const [web01, web02] = await Promise.all([startSshd({ authorizedKeys: [fleet.publicKey] }), startSshd({ authorizedKeys: [fleet.publicKey] })]);
  const closed = await startSilentServer();
  await closed.stop();
  const folder = mkdtempSync(join(tmpdir(), 'deputy-targets-catalog-'));
  mkdirSync(join(folder, 'scripts'));
  writeFileSync(join(folder, 'scripts', 'Greet.ps1'), SCRIPT);
  writeFileSync(join(folder, 'scripts', 'Slow.ps1'), SLOW);
  writeFileSync(join(folder, 'catalog.yaml'), catalogYaml(web01, web02, closed.port, generateKeyPair().publicKey));
  const dataDir = mkdtempSync(join(tmpdir(), 'deputy-targets-data-'));
  const vault = await openCredentialVault({ dataDir, keys: undefined, clock, logger: silentLogger() });
  await vault.set({ id: 'fleet-key', tenant: 'contoso', kind: 'secret', value: fleet.privateKey });
  return {
    web01,
    web02,
    folder,
    dataDir,
    async cleanup() {
      await Promise.all([web01.stop(), web02.stop()]);
      rmSync(folder, { recursive: true, force: true });
      removeDataFolder(dataDir);
    },
  };
}
