/**
 * Parameter-set resolution, held against real pwsh: for generated param() blocks and generated
 * sets of given parameters, Deputy must pick the set PowerShell binds to, or refuse where
 * PowerShell refuses (an ambiguous set, or a set left without a mandatory value).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describeUnresolved, resolveParameterSet } from '../../../executor/catalog/parameter-sets.ts';
import { ALL_PARAMETER_SETS, parameterSetsOf, type ParameterFacts } from '../../../executor/pwsh/parameters.ts';
import type { ParameterSet } from '../../../executor/contract/index.ts';
import { pwshJson, pwshPath } from '../pwsh/helpers.ts';

interface Case {
  /** Per parameter: its [Parameter()] attributes as (set or all-sets, mandatory). */
  parameters: { sets: { set: number | 'all'; mandatory: boolean }[] }[];
  defaultSet: number | undefined;
  calls: number[][];
}

const setName = (index: number) => `Set ${index}`;
const parameterName = (index: number) => `P${index}`;

function scriptOf(testCase: Case): string {
  const binding = testCase.defaultSet === undefined ? '[CmdletBinding()]' : `[CmdletBinding(DefaultParameterSetName = '${setName(testCase.defaultSet)}')]`;
  const parameters = testCase.parameters.map((parameter, index) => {
    const attributes = parameter.sets.map(({ set, mandatory }) =>
      set === 'all' ? `[Parameter(Mandatory = $${mandatory})]` : `[Parameter(Mandatory = $${mandatory}, ParameterSetName = '${setName(set)}')]`,
    );
    return `  ${attributes.join(' ')} [string] $${parameterName(index)}`;
  });
  return `${binding}\nparam(\n${parameters.join(',\n')}\n)\n$PSCmdlet.ParameterSetName`;
}

function setsOf(testCase: Case): ParameterSet[] | undefined {
  const parameters = testCase.parameters.map((parameter, index) => ({
    name: parameterName(index),
    sets: parameter.sets.map(({ set, mandatory }) => ({ name: set === 'all' ? ALL_PARAMETER_SETS : setName(set), mandatory, helpMessage: undefined })),
  })) as unknown as ParameterFacts[];
  return parameterSetsOf({ parameters, defaultParameterSet: testCase.defaultSet === undefined ? undefined : setName(testCase.defaultSet) });
}

const REFUSED = 'refused';

/**
 * Deputy's answer: the set's name, or a refusal. (PowerShell words a refusal as an ambiguous set
 * or as missing mandatory parameters, by rules made for pipeline input that a form never has;
 * Deputy's sentence may differ, the decision may not.)
 */
function deputySays(sets: ParameterSet[], call: number[]): string {
  const resolution = resolveParameterSet(sets, call.map(parameterName));
  return resolution.ok && resolution.missing.length === 0 ? resolution.set.name : REFUSED;
}

function refusalOf(answer: string | undefined): string | undefined {
  return answer === 'AmbiguousParameterSet' || answer === 'MissingMandatoryParameter' ? REFUSED : answer;
}

/** Every call of every case in one pwsh process: the set it bound to, or the error id. */
async function powershellSays(cases: Case[]): Promise<string[][]> {
  const program = `
$cases = [Console]::In.ReadToEnd() | ConvertFrom-Json
$answers = foreach ($case in $cases) {
  $block = [scriptblock]::Create($case.script)
  , @(foreach ($call in $case.calls) {
    $splat = @{}
    foreach ($name in $call) { $splat[$name] = 'x' }
    try { [string](& $block @splat) } catch { ($_.FullyQualifiedErrorId -split ',')[0] }
  })
}
ConvertTo-Json -InputObject @($answers) -Depth 4 -Compress`;
  const input = cases.map((testCase) => ({ script: scriptOf(testCase), calls: testCase.calls.map((call) => call.map(parameterName)) }));
  return (await pwshJson(pwshPath(), ['-Command', program], input)) as string[][];
}

const caseArbitrary = fc
  .record({ setCount: fc.integer({ min: 2, max: 4 }), parameterCount: fc.integer({ min: 1, max: 5 }) })
  .chain(({ setCount, parameterCount }) =>
    fc.record({
      parameters: fc.array(
        fc.record({
          sets: fc.oneof(
            fc.constant([] as { set: number | 'all'; mandatory: boolean }[]).map(() => [{ set: 'all' as const, mandatory: false }]),
            fc.boolean().map((mandatory) => [{ set: 'all' as const, mandatory }]),
            fc.uniqueArray(fc.integer({ min: 0, max: setCount - 1 }), { minLength: 1, maxLength: setCount }).chain((sets) =>
              fc.tuple(...sets.map((set) => fc.boolean().map((mandatory) => ({ set, mandatory })))),
            ),
          ),
        }),
        { minLength: parameterCount, maxLength: parameterCount },
      ),
      defaultSet: fc.option(fc.integer({ min: 0, max: setCount - 1 }), { nil: undefined }),
      calls: fc.array(fc.uniqueArray(fc.integer({ min: 0, max: parameterCount - 1 }), { maxLength: parameterCount }), { minLength: 4, maxLength: 8 }),
    }),
  );

describe('parameter sets: Deputy resolves the set PowerShell binds to (real pwsh)', function () {
  this.timeout(120_000);

  it('agrees with PowerShell on generated param() blocks and calls', async () => {
    const cases = fc.sample(caseArbitrary, { numRuns: 400, seed: 20260310 }).filter((testCase) => setsOf(testCase) !== undefined);
    assert.ok(cases.length > 200, `${cases.length} cases with several sets`);
    const answers = await powershellSays(cases);
    const disagreements: string[] = [];
    cases.forEach((testCase, index) => {
      const sets = setsOf(testCase) as ParameterSet[];
      testCase.calls.forEach((call, callIndex) => {
        const ours = deputySays(sets, call);
        const theirs = refusalOf(answers[index]?.[callIndex]);
        if (ours !== theirs) disagreements.push(`${scriptOf(testCase)}\n  call ${call.map(parameterName).join(', ') || '(nothing)'}: Deputy ${ours}, PowerShell ${theirs}`);
      });
    });
    assert.deepEqual(disagreements.slice(0, 5), [], `${disagreements.length} disagreements`);
  });

  it('the real-world case: "Disable auto reply" binds with the mailbox alone', () => {
    const sets: ParameterSet[] = [
      { name: 'Disable', fields: [{ name: 'Mailbox', required: true }] },
      { name: 'Enable', fields: [{ name: 'Mailbox', required: true }, { name: 'Text', required: true }] },
      { name: 'Schedule', fields: [{ name: 'Mailbox', required: true }, { name: 'Text', required: true }, { name: 'Start', required: true }] },
    ];
    assert.equal(deputySays(sets, []), REFUSED);
    const disable = resolveParameterSet(sets, ['mailbox']);
    assert.ok(disable.ok && disable.set.name === 'Disable');
    const incomplete = resolveParameterSet(sets, ['Text']);
    assert.ok(!incomplete.ok);
    assert.match(describeUnresolved(incomplete), /"Enable", "Schedule"/);
    const mixed = resolveParameterSet([{ name: 'A', fields: [{ name: 'X', required: false }] }, { name: 'B', fields: [{ name: 'Y', required: false }] }], ['X', 'Y']);
    assert.deepEqual(mixed, { ok: false, reason: 'incompatible', sets: ['A', 'B'] });
  });
});
