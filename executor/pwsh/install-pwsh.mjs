#!/usr/bin/env node
// package.json's postinstall: makes sure Deputy has a pwsh, in the order DESIGN.md fixes:
// DEPUTY_PWSH, then pwsh on PATH, then the project's own .tools/pwsh, else it installs the
// PowerShell .NET global tool into .tools/. It never fails `npm install`: without pwsh the
// executor still starts and its /readyz says pwsh is missing.
// Plain Node, no dependencies, no shell.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const POWERSHELL_VERSION = '7.6.9';
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const toolsFolder = join(projectRoot, '.tools');
const ownPwsh = join(toolsFolder, 'pwsh');

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(program) {
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    if (folder && isExecutable(join(folder, program))) return join(folder, program);
  }
  return undefined;
}

function use(path, how) {
  console.log(`deputy: using pwsh ${path} (${how})`);
  process.exit(0);
}

const configured = process.env.DEPUTY_PWSH;
if (configured) {
  if (isExecutable(configured)) use(resolve(configured), 'DEPUTY_PWSH');
  console.warn(`deputy: DEPUTY_PWSH=${configured} is not an executable file; looking further.`);
}
const fromPath = onPath('pwsh');
if (fromPath) use(fromPath, 'PATH');
if (isExecutable(ownPwsh)) use(ownPwsh, '.tools');

const dotnet = onPath('dotnet');
let failure = 'the .NET SDK (dotnet) is not installed';
if (dotnet) {
  console.log(`deputy: installing PowerShell ${POWERSHELL_VERSION} as a .NET tool into ${toolsFolder} …`);
  const install = spawnSync(dotnet, ['tool', 'install', '--tool-path', toolsFolder, 'PowerShell', '--version', POWERSHELL_VERSION], {
    stdio: 'inherit',
    shell: false,
    env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' },
  });
  if (install.status === 0 && isExecutable(ownPwsh)) use(ownPwsh, `installed into .tools`);
  failure = install.error ? `dotnet could not be started: ${install.error.message}` : `dotnet tool install exited with code ${install.status}`;
}

console.warn(
  [
    '',
    'deputy: pwsh (PowerShell 7) was not found and could not be installed:',
    `  ${failure}.`,
    'Deputy runs scripts with pwsh. Install it in one of these ways, then run `npm install` again:',
    `  - with the .NET SDK:   dotnet tool install --tool-path .tools PowerShell --version ${POWERSHELL_VERSION}`,
    '  - from Microsoft:      https://learn.microsoft.com/powershell/scripting/install/installing-powershell-on-linux',
    '  - or point Deputy at an existing one: DEPUTY_PWSH=/path/to/pwsh',
    'npm install goes on; until pwsh is there the executor starts, but GET /readyz reports pwsh missing and runs fail.',
    '',
  ].join('\n'),
);
process.exit(0);
