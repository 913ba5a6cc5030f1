#!/usr/bin/env node
// The `deputy` command. TypeScript sources run through tsx's loader, so a clone needs no build step.
//
// Deputy needs Node 24 LTS. `npm install` brings it into node_modules/.bin (the npm registry's
// `node` package), and npm scripts and npx put that folder first on PATH. A `deputy` started
// some other way by an older node re-executes itself under the project's own Node 24, and
// without one it stops with a message instead of failing later in some dependency.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REQUIRED_MAJOR = 24;
const runningMajor = Number(process.versions.node.split('.')[0]);
if (runningMajor < REQUIRED_MAJOR) {
  const projectNode = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.bin', 'node');
  if (!existsSync(projectNode)) {
    console.error(`deputy: Node ${REQUIRED_MAJOR} or newer is needed, this is ${process.version}. Run \`npm install\` in the project (it brings Node ${REQUIRED_MAJOR}) or install Node ${REQUIRED_MAJOR} LTS.`);
    process.exit(1);
  }
  const child = spawn(projectNode, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', shell: false });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
