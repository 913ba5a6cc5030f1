/**
 * Every example script really runs under pwsh (Set-StrictMode -Version Latest), with inputs as
 * a chat user types them: validated against the parsed form, fixed values added the way the
 * run service does, then JSON-splatted by a small harness. The demo directory scripts work on
 * a temporary copy of the seed.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importCatalog } from '../../../executor/catalog/import.ts';
import { validateInputs } from '../../../executor/catalog/inputs.ts';
import { locatePwsh, PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import type { CatalogSnapshot } from '../../../executor/store/port.ts';
import { ManualClock } from '../../../lib/clock.ts';
import { pwshJson } from '../pwsh/helpers.ts';

const pwsh = locatePwsh(process.env, PROJECT_ROOT)?.path ?? assert.fail('pwsh not found');
const CATALOG = join(PROJECT_ROOT, 'examples', 'catalog');
const HARNESS = join(import.meta.dirname, 'fixtures', 'run-scripts.ps1');
const HOSTILE = `Back soon"; Remove-Item -Recurse / ; $(whoami) \`n 'quoted' @{x=1}\nsecond line`;
const GIVEN_PASSWORD = 'Sup3r-Secret-Pass!';

interface Case {
  script: string;
  parameters: Record<string, unknown>;
  secrets: string[];
}
type Row = Record<string, unknown>;
interface Outcome {
  output: Row[];
  warnings: string[];
  error: string | null;
}

async function runHarness(cases: Case[]): Promise<Outcome[]> {
  return (await pwshJson(pwsh, ['-File', HARNESS], cases)) as Outcome[];
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

describe('example scripts on real pwsh', function () {
  // One import parses every example script (one pwsh), then one harness runs them all.
  this.timeout(60_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'deputy-examples-'));
  const logFolder = join(dataDir, 'logs');
  const directoryPath = join(dataDir, 'demo-directory.json');
  const openServer = createServer((socket) => socket.end());
  let snapshot: CatalogSnapshot;
  const outcomes = new Map<string, Outcome>();

  /** Inputs as typed in chat → validated values + the action's fixed values with {runDataDir} filled in. */
  function prepare(actionId: string, inputs: Record<string, string>, fixedOverride: Record<string, string> = {}): Case {
    const action = snapshot.actions.find((candidate) => candidate.id === actionId) ?? assert.fail(actionId);
    const script = snapshot.scripts.find((candidate) => candidate.id === action.scriptId) ?? assert.fail(action.scriptId);
    const version = snapshot.versions.find((candidate) => candidate.hash === script.currentHash) ?? assert.fail(script.currentHash);
    const asked = version.parameters.filter((field) => !(field.name in action.fixed) && (!action.ask || action.ask.includes(field.name)));
    const validated = validateInputs(asked, inputs);
    assert.ok(validated.ok, `${actionId}: ${JSON.stringify(validated)}`);
    const fixed = Object.fromEntries(
      Object.entries(action.fixed).map(([name, value]) => [name, typeof value === 'string' ? value.replaceAll('{runDataDir}', dataDir) : value]),
    );
    return {
      script: join(CATALOG, script.file ?? assert.fail('file')),
      parameters: { ...validated.values, ...fixed, ...fixedOverride },
      secrets: version.parameters.filter((field) => field.kind === 'secret').map((field) => field.name),
    };
  }

  const outcome = (name: string): Outcome => outcomes.get(name) ?? assert.fail(`no outcome ${name}`);
  const row = (name: string): Row => {
    const result = outcome(name);
    assert.equal(result.error, null, `${name} failed: ${result.error}`);
    assert.equal(result.output.length, 1, name);
    return result.output[0] as Row;
  };
  const directory = () => JSON.parse(readFileSync(directoryPath, 'utf8')) as { users: Row[] };
  const user = (upn: string) => directory().users.find((candidate) => candidate.userPrincipalName === upn) ?? assert.fail(upn);

  before(async () => {
    snapshot = (await importCatalog({ folder: CATALOG, previous: { tenants: [], principals: [], scripts: [], versions: [], actions: [] }, pwshPath: pwsh, clock: new ManualClock() })).snapshot;
    copyFileSync(join(CATALOG, 'demo-directory.json'), directoryPath);
    mkdirSync(join(logFolder, 'apt'), { recursive: true });
    writeFileSync(join(logFolder, 'dpkg.log'), ['2026-01-01 startup archives unpack', '2026-01-02 install curl', '2026-01-03 status half-installed curl', '2026-01-04 install jq', '2026-01-05 configure jq'].join('\n') + '\n');
    const openPort = await listen(openServer);
    const closing = createServer();
    const closedPort = await listen(closing);
    await new Promise((resolve) => closing.close(resolve));

    const cases: [string, Case][] = [
      ['disk', prepare('disk-usage', { WarnAbovePercent: '1.5', IncludeVirtual: 'false' })],
      ['top', prepare('top-processes', { SortBy: 'memory', Top: '3' })],
      ['service-running', prepare('service-status', { Name: 'pwsh' })],
      ['service-absent', prepare('service-status', { Name: 'no-such-daemon' })],
      ['log', prepare('log-tail', { Log: 'DPKG', Lines: '2', Contains: 'INSTALL' }, { LogFolder: logFolder })],
      ['log-missing', prepare('log-tail', { Log: 'fontconfig' }, { LogFolder: logFolder })],
      ['port-open', prepare('port-check', { ComputerName: '127.0.0.1', Port: String(openPort), TimeoutMilliseconds: '2000' })],
      ['port-closed', prepare('port-check', { ComputerName: 'localhost', Port: String(closedPort), TimeoutMilliseconds: '2000' })],
      ['ooo', prepare('set-ooo', { UserPrincipalName: 'Uma.Schulz@contoso.example', Message: HOSTILE, Until: '2099-12-31' })],
      ['password-given', prepare('reset-password-hamburg', { UserPrincipalName: 'lena.hoffmann@contoso.example', NewPassword: GIVEN_PASSWORD, MustChangeAtNextSignIn: 'false' })],
      ['password-generated', prepare('reset-password-hamburg', { UserPrincipalName: 'uma.schulz@contoso.example' })],
      ['password-weak', prepare('reset-password-hamburg', { UserPrincipalName: 'jonas.becker@contoso.example', NewPassword: 'weakling' })],
      ['password-other-site', prepare('reset-password-hamburg', { UserPrincipalName: 'sophie.maier@contoso.example' })],
      ['password-munich', prepare('reset-password-munich', { UserPrincipalName: 'sophie.maier@contoso.example' })],
      ['licence', prepare('assign-licence', { UserPrincipalName: 'uma.schulz@contoso.example', Sku: 'm365_e3, exchange_online_plan1' })],
      ['licence-no-seat', prepare('assign-licence', { UserPrincipalName: 'uma.schulz@contoso.example', Sku: 'VISIO_PLAN2' })],
      ['onboard', prepare('onboard-employee', { GivenName: 'Jürgen', Surname: "O'Brien-Groß", Department: 'sales', StartDate: '2099-01-15', Groups: 'project-apollo', Manager: 'jonas.becker@contoso.example' })],
      ['offboard', prepare('offboard-employee', { UserPrincipalName: 'lena.hoffmann@contoso.example', ForwardMailTo: 'jonas.becker@contoso.example', LastWorkingDay: '2099-02-28' })],
      ['auto-reply', prepare('auto-reply-hamburg', { UserPrincipalName: 'jonas.becker@contoso.example', Message: 'Back on Monday', StartDate: '2099-03-02', EndDate: '2099-03-06' })],
      ['users-query', { script: join(CATALOG, 'scripts', 'QRY_Get-DirectoryUsers.ps1'), parameters: { Office: 'munich', DirectoryPath: directoryPath }, secrets: [] }],
    ];
    const results = await runHarness(cases.map(([, testCase]) => testCase));
    cases.forEach(([name], index) => outcomes.set(name, results[index] ?? assert.fail(`no result ${index}`)));
  });
  after(() => {
    openServer.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('disk usage: one row per real file system, flagged above the threshold', () => {
    const rows = outcome('disk').output;
    assert.equal(outcome('disk').error, null);
    const root = rows.find((r) => r.Mount === '/') ?? assert.fail('no / mount');
    assert.deepEqual(Object.keys(root), ['Mount', 'Format', 'SizeGB', 'UsedGB', 'FreeGB', 'UsedPercent', 'Status']);
    assert.ok((root.SizeGB as number) > 0);
    assert.equal(root.Status, (root.UsedPercent as number) > 1.5 ? 'warning' : 'ok');
    assert.ok(rows.every((r) => !['proc', 'sysfs', 'tmpfs'].includes(r.Format as string)));
  });

  it('top processes: the requested number, sorted by memory', () => {
    const rows = outcome('top').output;
    assert.equal(rows.length, 3);
    assert.deepEqual(Object.keys(rows[0] ?? {}), ['Name', 'Id', 'CpuSeconds', 'MemoryMB', 'StartTime']);
    const memory = rows.map((r) => r.MemoryMB as number);
    assert.deepEqual(memory, [...memory].sort((a, b) => b - a));
  });

  it('service status: finds the running pwsh, and says so when nothing runs', () => {
    const running = row('service-running');
    assert.equal(running.Running, true);
    assert.ok((running.Processes as number) >= 1);
    const absent = row('service-absent');
    assert.deepEqual([absent.Running, absent.Processes, absent.Ids], [false, 0, '']);
  });

  it('log tail: the last matching lines of an allow-listed log, and a clear error for a missing one', () => {
    assert.deepEqual(outcome('log').output, [
      { Log: 'dpkg', Line: 1, Text: '2026-01-03 status half-installed curl' },
      { Log: 'dpkg', Line: 2, Text: '2026-01-04 install jq' },
    ]);
    assert.equal(outcome('log-missing').error, 'The fontconfig log does not exist on this host.');
  });

  it('port check: open and closed ports on loopback', () => {
    const open = row('port-open');
    assert.deepEqual([open.Open, open.Detail], [true, 'connection accepted']);
    const closed = row('port-closed');
    assert.equal(closed.Open, false);
    assert.match(closed.Detail as string, /refused/i);
  });

  it('port check: the form refuses a host that is not a plain name', () => {
    const action = snapshot.actions.find((a) => a.id === 'port-check');
    const fields = snapshot.versions.find((v) => v.scriptId === action?.scriptId)?.parameters ?? [];
    for (const host of ['localhost; rm -rf /', 'http://x', '$(whoami)', 'a b']) {
      assert.deepEqual(validateInputs(fields, { ComputerName: host, Port: '80' }), { ok: false, fields: { ComputerName: 'Host does not have the expected format.' } });
    }
  });

  it('out-of-office: hostile text arrives as literal data in the demo directory', () => {
    const result = row('ooo');
    assert.deepEqual([result.OutOfOffice, result.Until, result.Message], ['on', '2099-12-31', HOSTILE]);
    assert.match(result.Directory as string, /demo directory/);
    assert.deepEqual(user('uma.schulz@contoso.example').outOfOffice, { enabled: true, message: HOSTILE, until: '2099-12-31' });
  });

  it('password reset: never echoes the password, stores only a salted hash, stays within its office', () => {
    const everything = JSON.stringify([...outcomes.values()]) + readFileSync(directoryPath, 'utf8');
    assert.equal(everything.includes(GIVEN_PASSWORD), false);
    const given = row('password-given');
    assert.deepEqual([given.PasswordReset, given.Generated, given.MustChangeAtNextSignIn], [true, false, false]);
    const generated = row('password-generated');
    assert.equal(generated.Generated, true);
    assert.equal(generated.DeliveredTo, 'jonas.becker@contoso.example (demo: not actually sent)');
    const password = user('uma.schulz@contoso.example').password as Row;
    assert.equal((user('jonas.becker@contoso.example').password as Row).hash, null, 'a refused reset changes nothing');
    assert.match(password.hash as string, /^sha256:[0-9A-F]{32}:[0-9A-F]{64}$/);
    assert.equal(password.mustChange, true);
    assert.match(outcome('password-weak').error ?? '', /too weak/);
    assert.match(outcome('password-other-site').error ?? '', /works in the munich office; this action changes hamburg accounts only/);
    assert.equal(row('password-munich').PasswordReset, true);
  });

  it('password reset: every generated password passes the script\'s own strength rule', async () => {
    // A generator that misses a character class now and then fails a generated reset about once in 150.
    const drawn = (await pwshJson(pwsh, ['-File', join(import.meta.dirname, 'fixtures', 'draw-passwords.ps1')], {
      script: join(CATALOG, 'scripts', 'Reset-UserPassword.ps1'),
      count: 3000,
    })) as { fewestClasses: number; lengths: number[]; distinct: number };
    assert.deepEqual(drawn, { fewestClasses: 4, lengths: [20], distinct: 3000 });
  });

  it('licences: case-insensitive SKUs assigned, and no seat means a clear error', () => {
    const result = row('licence');
    assert.deepEqual([result.Action, result.Changed], ['assigned', 'M365_E3, EXCHANGE_ONLINE_PLAN1']);
    assert.deepEqual(user('uma.schulz@contoso.example').licences, ['M365_BUSINESS_PREMIUM', 'M365_E3', 'EXCHANGE_ONLINE_PLAN1']);
    assert.match(outcome('licence-no-seat').error ?? '', /No free VISIO_PLAN2 seat/);
  });

  it('onboarding: creates the account in the office the action fixes', () => {
    const result = row('onboard');
    assert.equal(result.UserPrincipalName, 'juergen.obrien-gross@contoso.example');
    const created = user('juergen.obrien-gross@contoso.example');
    assert.deepEqual(
      [created.office, created.department, created.startDate, created.groups, created.licences, created.manager],
      ['hamburg', 'Sales', '2099-01-15', ['all-hamburg', 'sales', 'project-apollo'], ['M365_E3'], 'jonas.becker@contoso.example'],
    );
  });

  it('offboarding: disables, removes groups and licences, forwards mail', () => {
    const result = row('offboard');
    assert.deepEqual([result.Disabled, result.LastWorkingDay, result.LicencesFreed, result.ForwardingTo], [true, '2099-02-28', 'M365_E3, VISIO_PLAN2', 'jonas.becker@contoso.example']);
    const gone = user('lena.hoffmann@contoso.example');
    assert.deepEqual([gone.enabled, gone.groups, gone.licences, gone.forwardTo], [false, [], [], 'jonas.becker@contoso.example']);
  });

  it('automatic replies (ScriptRunner style): the Schedule set, run by hand, says what it set', () => {
    const result = outcome('auto-reply');
    assert.equal(result.error, null);
    assert.deepEqual(result.output, ['Automatic replies of Jonas Becker from 2099-03-02 to 2099-03-06.']);
    assert.deepEqual(user('jonas.becker@contoso.example').outOfOffice, { enabled: true, message: 'Back on Monday', from: '2099-03-02', until: '2099-03-06' });
  });

  it('the accounts query, run by hand, lists the office\'s accounts as text', () => {
    const result = outcome('users-query');
    assert.equal(result.error, null);
    assert.ok(result.output.length > 0 && result.output.every((line) => typeof line === 'string' && /@contoso\.example>$/.test(line)), JSON.stringify(result.output));
  });

  it('writes no warnings on these runs', () => {
    for (const [name, result] of outcomes) assert.deepEqual(result.warnings, [], name);
  });
});
