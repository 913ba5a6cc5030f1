import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export interface PwshLocation {
  path: string;
  source: 'DEPUTY_PWSH' | 'PATH' | '.tools';
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds pwsh the way DESIGN.md fixes it: `DEPUTY_PWSH`, then PATH, then the project's own
 * `.tools/`. Returns undefined when none is there; `/readyz` then reports pwsh missing.
 */
export function locatePwsh(env: NodeJS.ProcessEnv, projectRoot: string): PwshLocation | undefined {
  const configured = env.DEPUTY_PWSH;
  if (configured) return isExecutable(configured) ? { path: resolve(configured), source: 'DEPUTY_PWSH' } : undefined;
  for (const folder of (env.PATH ?? '').split(delimiter)) {
    if (folder && isExecutable(join(folder, 'pwsh'))) return { path: join(folder, 'pwsh'), source: 'PATH' };
  }
  const own = join(projectRoot, '.tools', 'pwsh');
  return isExecutable(own) ? { path: own, source: '.tools' } : undefined;
}

/** The project root, for `.tools/`, `examples/` and `data/` defaults. */
export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');
