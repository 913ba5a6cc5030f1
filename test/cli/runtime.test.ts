import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../executor/pwsh/locate.ts';

/** The README promises Node 24 for both commands; an older system node must not sneak in through npm's PATH. */
describe('runtime', () => {
  const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { engines: { node: string }; dependencies: Record<string, string> };
  const requiredMajor = Number(/(\d+)/.exec(manifest.engines.node)?.[1]);

  it('runs the tests on the Node that package.json requires, and brings that Node as a dependency', () => {
    assert.equal(requiredMajor, 24);
    assert.ok(Number(process.versions.node.split('.')[0]) >= requiredMajor, `tests run on ${process.version}`);
    assert.match(manifest.dependencies.node ?? '', new RegExp(`^${requiredMajor}\\.`));
  });

  it('re-executes `deputy` under the project Node when an older node starts it', function () {
    const olderNode = ['/usr/bin/node', '/usr/local/bin/node']
      .map((path) => ({ path, version: spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout?.trim() }))
      .find(({ version }) => version && Number(version.slice(1).split('.')[0]) < requiredMajor);
    if (!olderNode) this.skip();
    const probe = spawnSync(olderNode.path, [join(PROJECT_ROOT, 'bin', 'deputy.mjs'), 'version'], { encoding: 'utf8', env: { ...process.env, PATH: '/usr/bin:/bin' } });
    assert.equal(probe.status, 0, probe.stderr);
    assert.match(probe.stdout, /^node v24\./m);
  });
});
