/** `npm run bench`: every benchmark, measured in this one run, with its baseline; `npm run bench -- cluster store` runs only those. */
import { benchChat } from './chat.ts';
import { benchCluster } from './cluster.ts';
import { benchExecutor, type BenchResult } from './executor.ts';
import { benchForms } from './forms.ts';
import { benchSlack } from './slack.ts';
import { benchStore } from './store.ts';
import { benchTargets } from './targets.ts';

const suites: [string, () => Promise<BenchResult[]>][] = [
  ['executor', benchExecutor],
  ['store', () => benchStore()],
  ['cluster', benchCluster],
  ['slack', benchSlack],
  ['chat', benchChat],
  ['forms', benchForms],
  ['targets', benchTargets],
];

const only = process.argv.slice(2);
const unknown = only.filter((name) => !suites.some(([known]) => known === name));
if (unknown.length > 0) throw new Error(`no benchmark named ${unknown.join(', ')}; there are ${suites.map(([name]) => name).join(', ')}`);

let failed = 0;
for (const [name, run] of suites.filter(([candidate]) => only.length === 0 || only.includes(candidate))) {
  console.log(`\n== ${name}`);
  try {
    for (const result of await run()) {
      console.log(`${result.pass ? 'PASS' : 'MISS'}  ${result.name}`);
      for (const line of result.lines) console.log(`      ${line}`);
      if (!result.pass) failed++;
    }
  } catch (error) {
    failed++;
    console.log(`FAIL  ${name}: ${describe(error)}`);
  }
}
console.log(failed === 0 ? '\nAll goals met.' : `\n${failed} goal(s) missed.`);
process.exitCode = failed === 0 ? 0 : 1;

/** The error and what caused it: fetch says only "fetch failed", its cause says why. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause === undefined ? error.message : `${error.message} (${describe(error.cause)})`;
}
