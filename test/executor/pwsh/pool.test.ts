import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MASK } from '../../../executor/contract/index.ts';
import { locatePwsh, PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import { HOST_SCRIPT, WORK_ROOT_PREFIX, type PwshRunner } from '../../../executor/pwsh/runner.ts';
import { RUN_NICENESS } from '../../../executor/pwsh/worker.ts';
import type { StoredRecord } from '../../../executor/store/port.ts';
import { eventually, job, makeRunner, outputFields, outputTexts, processesWith, processGone, uniqueSleep, WORKER_LINE, workerOf } from './helpers.ts';

/** Real pwsh through the warm pool: parameters, streams, masking, caps, isolation, recovery. */
describe('pwsh runner: warm pool', function () {
  this.timeout(60_000);
  let runner: PwshRunner;
  let scratch: string;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'deputy-pwsh-'));
    // Runs may use another account (the run account when the tests run as root): the marker must be writable to prove anything.
    chmodSync(scratch, 0o777);
    runner = makeRunner({ poolSize: 2 });
    await runner.prewarm({ kind: 'pool' });
  });

  after(async () => {
    await runner.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const poolPids = (): number[] => runner.stats().pools[0]?.pids ?? [];

  it('runs a job below the executor’s CPU priority (nice 5), and what the job starts too', async () => {
    // Field 19 of /proc/.../stat is the nice value: of the thread running the job, and of a program it starts.
    const script = `
      $thread = (Get-Content -Raw /proc/thread-self/stat).Split(') ')[1].Split(' ')[16]
      $child = (& /bin/cat /proc/self/stat).Split(') ')[1].Split(' ')[16]
      "$thread,$child"`;
    const result = await runner.execute(job(script));
    assert.equal(result.outcome, 'succeeded', JSON.stringify(result.records));
    assert.deepEqual(outputTexts(result.records), [`${RUN_NICENESS},${RUN_NICENESS}`]);
  });

  it('binds parameters of every kind with their PowerShell types', async () => {
    const script = `
      param([string]$Text, [int]$Count, [double]$Ratio, [switch]$Force, [bool]$Enabled, [string[]]$Names,
            [datetime]$When, [securestring]$Secret, [pscredential]$Credential, [string]$IsoText)
      [pscustomobject]@{
        Text = "$($Text.GetType().Name):$Text"; Count = "$($Count.GetType().Name):$($Count + 1)"
        Ratio = "$($Ratio.GetType().Name):$($Ratio * 2)"; Force = "$($Force.GetType().Name):$($Force.IsPresent)"
        Enabled = "$($Enabled.GetType().Name):$Enabled"; Names = "$($Names.GetType().Name):$($Names -join '|')"
        When = "$($When.GetType().Name):$($When.ToUniversalTime().ToString('yyyy-MM-dd HH:mm'))"
        Secret = "$($Secret.GetType().Name):$($Secret.Length)"
        Credential = "$($Credential.GetType().Name):$($Credential.UserName):$($Credential.Password.Length)"
        IsoText = "$($IsoText.GetType().Name):$IsoText"
      }`;
    const result = await runner.execute(
      job(script, {
        parameters: {
          Text: 'hello', Count: 41, Ratio: 1.25, Force: true, Enabled: false, Names: ['a', 'b c'],
          When: '2026-03-04T05:06:00Z', Secret: 'abcd', Credential: { username: 'CONTOSO\\bob', password: 'pass12' },
          IsoText: '2026-03-04T05:06:00Z',
        },
        secretParameters: ['Secret', 'Credential'],
      }),
    );
    assert.equal(result.outcome, 'succeeded', JSON.stringify(result.records));
    assert.deepEqual(result.records[0]?.data, {
      Text: 'String:hello', Count: 'Int32:42', Ratio: 'Double:2.5', Force: 'SwitchParameter:True', Enabled: 'Boolean:False',
      Names: 'String[]:a|b c', When: 'DateTime:2026-03-04 05:06', Secret: 'SecureString:4',
      Credential: 'PSCredential:CONTOSO\\bob:6', IsoText: 'String:2026-03-04T05:06:00Z',
    });
  });

  it('passes hostile values through as literal data and executes none of them', async () => {
    const marker = join(scratch, 'pwned.txt');
    const hostile = [
      `"; New-Item -ItemType File -Path '${marker}'; "`,
      `'; New-Item -ItemType File -Path '${marker}'; '`,
      `$(New-Item -ItemType File -Path '${marker}')`,
      '`$(whoami)` `n `"',
      `x; Remove-Item -Recurse -Force '${scratch}'`,
      `line one\nNew-Item -ItemType File -Path '${marker}'`,
      '@(1,2) | ForEach-Object { $_ } # -Force',
      `& { New-Item -ItemType File -Path '${marker}' }`,
      "Jürgen O'Brien-Groß 😀 \u2028 <tag> & \\ \t tab",
    ];
    const script = 'param([string]$One, [string[]]$Many) $One; foreach ($item in $Many) { $item }';
    for (const value of hostile) {
      const result = await runner.execute(job(script, { parameters: { One: value, Many: hostile } }));
      assert.equal(result.outcome, 'succeeded');
      assert.deepEqual(outputTexts(result.records), [value, ...hostile]);
    }
    assert.equal(existsSync(marker), false, 'no hostile value may run');
    assert.equal(existsSync(scratch), true);
  });

  it('captures each stream apart, in the order written', async () => {
    const script = `
      $VerbosePreference = 'Continue'
      'out 1'
      Write-Warning 'warn 1'
      Write-Verbose 'verbose 1'
      Write-Information 'info 1'
      Write-Host 'host 1'
      Write-Error 'error 1'
      Write-Progress -Activity 'Copying' -Status 'half' -PercentComplete 50
      Start-Sleep -Milliseconds 60
      [pscustomobject]@{ Name = 'obj'; Size = 3 }`;
    const result = await runner.execute(job(script));
    const byStream = (stream: StoredRecord['stream']): string[] => result.records.filter((record) => record.stream === stream).map((record) => record.text);
    assert.deepEqual(byStream('output'), ['out 1', '@{Name=obj; Size=3}']);
    assert.deepEqual(byStream('warning'), ['warn 1']);
    assert.deepEqual(byStream('verbose'), ['verbose 1']);
    assert.deepEqual(byStream('information'), ['info 1', 'host 1']);
    assert.deepEqual(byStream('error'), ['error 1']);
    assert.deepEqual(byStream('progress'), ['Copying: half (50%)']);
    const order = result.records.filter((record) => record.stream !== 'progress').map((record) => record.text);
    assert.deepEqual(order, ['out 1', 'warn 1', 'verbose 1', 'info 1', 'host 1', 'error 1', '@{Name=obj; Size=3}']);
    assert.deepEqual(result.records.at(-1)?.data, { Name: 'obj', Size: 3 });
  });

  it('calls a run with a non-terminating error failed (exit code 1), and reports it in the summary', async () => {
    const result = await runner.execute(job("'partial work'; Write-Error 'disk not found'"));
    assert.equal(result.outcome, 'failed');
    assert.equal(result.exitCode, 1);
    assert.deepEqual(result.summary.errors, ['disk not found']);
    assert.deepEqual(result.summary.lines, ['partial work']);
  });

  it('calls a thrown error and a parameter binding failure failed', async () => {
    const thrown = await runner.execute(job("'before'; throw 'it broke'; 'after'"));
    assert.equal(thrown.outcome, 'failed');
    assert.deepEqual(outputTexts(thrown.records), ['before']);
    assert.deepEqual(thrown.summary.errors, ['it broke']);
    const binding = await runner.execute(job('param([int]$Count) $Count', { parameters: { Count: 'many' } }));
    assert.equal(binding.outcome, 'failed');
    assert.match(binding.summary.errors[0] ?? '', /Count/);
    const unparsable = await runner.execute(job("'never' ; if ("));
    assert.equal(unparsable.outcome, 'failed');
    assert.deepEqual(outputTexts(unparsable.records), []);
    assert.equal(unparsable.summary.errors.length, 1);
  });

  it('records a native program\'s stderr as an error line without failing the run', async () => {
    const result = await runner.execute(job("sh -c 'echo to-stdout; echo to-stderr >&2'; 'after'"));
    assert.equal(result.outcome, 'succeeded');
    assert.deepEqual(outputTexts(result.records), ['to-stdout', 'after']);
    assert.deepEqual(result.summary.errors, ['to-stderr']);
  });

  it('honours exit codes: exit 3 fails with 3, exit 0 succeeds', async () => {
    const three = await runner.execute(job("'x'; exit 3; 'never'"));
    assert.equal(three.outcome, 'failed');
    assert.equal(three.exitCode, 3);
    assert.deepEqual(outputTexts(three.records), ['x']);
    const zero = await runner.execute(job("'y'; exit 0"));
    assert.equal(zero.outcome, 'succeeded');
    assert.equal(zero.exitCode, 0);
  });

  it('masks secrets in every stream, in object properties, and across a wrapped line', async () => {
    const script = `
      param([securestring]$Secret, [pscredential]$Credential, [string]$Plain)
      $VerbosePreference = 'Continue'
      $text = [System.Net.NetworkCredential]::new('', $Secret).Password
      $password = $Credential.GetNetworkCredential().Password
      "out $text and $password and $Plain"
      Write-Warning "warn $text"
      Write-Verbose "verbose $password"
      Write-Information "info $Plain"
      Write-Progress -Activity "act $text" -Status 'x'
      [Console]::WriteLine("console $text")
      [pscustomobject]@{ Key = $text; Nested = @{ Inner = "in $password" } }
      "wrapped $($text.Substring(0, 5))\`n  $($text.Substring(5))"
      Write-Error "error $text"`;
    const result = await runner.execute(
      job(script, {
        parameters: { Secret: 'Tr0ub4dor&3-horse', Credential: { username: 'svc', password: 'C0rrect-Battery' }, Plain: 'stored-api-key-77' },
        secretParameters: ['Secret', 'Credential'],
        maskValues: ['stored-api-key-77'],
      }),
    );
    const everything = JSON.stringify(result);
    for (const secret of ['Tr0ub4dor&3-horse', 'C0rrect-Battery', 'stored-api-key-77', 'Tr0ub4']) {
      assert.equal(everything.includes(secret), false, `${secret} leaked: ${everything}`);
    }
    const streams = new Set(result.records.filter((record) => record.text.includes(MASK)).map((record) => record.stream));
    assert.deepEqual([...streams].sort(), ['error', 'information', 'output', 'progress', 'verbose', 'warning']);
    assert.ok(result.records.some((record) => JSON.stringify(record.data ?? null).includes(`in ${MASK}`)));
    assert.ok(outputTexts(result.records).includes(`console ${MASK}`));
    assert.ok(outputTexts(result.records).includes(`wrapped ${MASK}`));
  });

  it('cuts output at the record cap, adds a note, and still finishes', async () => {
    const result = await runner.execute(job('1..500 | ForEach-Object { "line $_" }', { limits: { maxOutputBytes: 1_000_000, maxRecords: 25 } }));
    assert.equal(result.outcome, 'succeeded');
    assert.equal(result.truncated, true);
    assert.equal(result.records.length, 26);
    assert.equal(result.records[24]?.text, 'line 25');
    assert.equal(result.records[25]?.stream, 'warning');
    assert.match(result.records[25]?.text ?? '', /output cut at the limit/);
    assert.equal(result.summary.truncated, true);
  });

  it('treats console lines that imitate the protocol as plain output', async () => {
    const forgedEnd = '{"t":"end","id":"x","succeeded":true,"hadErrors":false,"terminated":false,"exitCode":0,"clean":true}';
    const script = `
      [Console]::WriteLine('${forgedEnd}')
      [Console]::WriteLine('0123456789abcdef0123456789abcdef{"t":"rec","s":"error","text":"forged"}')
      [Console]::Write('no newline')
      'real output'
      Write-Error 'real error'`;
    const result = await runner.execute(job(script));
    assert.equal(result.outcome, 'failed', 'the forged end frame must not end the run as succeeded');
    const outputs = outputTexts(result.records);
    assert.ok(outputs.includes(forgedEnd));
    assert.ok(outputs.includes('0123456789abcdef0123456789abcdef{"t":"rec","s":"error","text":"forged"}'));
    assert.ok(outputs.includes('no newline'));
    assert.ok(outputs.includes('real output'));
    assert.deepEqual(result.records.filter((record) => record.stream === 'error').map((record) => record.text), ['real error']);
  });

  it('gives each job a fresh runspace and a fresh folder, and restores environment variables', async () => {
    const first = await runner.execute(
      job(`
        "folder=$($PWD.Path)"
        $global:leftover = 'from job one'
        function Get-Leftover { 'function from job one' }
        $env:DEPUTY_LEFTOVER = 'set by job one'
        $env:PATH = '/nowhere'
        Set-Content -Path left.txt -Value 'left by job one'
        [Environment]::CurrentDirectory = '/'
        Set-Location /
        'done'`),
    );
    assert.equal(first.outcome, 'succeeded');
    const firstFolder = outputFields(first.records).folder ?? '';
    assert.match(firstFolder, /\/job-[0-9a-f]{32}$/);
    assert.ok(await eventually(() => !existsSync(firstFolder)), 'a job\'s folder is removed after it');
    // Both of the requester's workers must show the state, whichever takes the job.
    const checks = await Promise.all(
      [1, 2].map(() =>
        runner.execute(
          job(`
            "variable=[$global:leftover]"
            "function=[$(if (Get-Command Get-Leftover -ErrorAction Ignore) { 'yes' } else { 'no' })]"
            "env=[$env:DEPUTY_LEFTOVER]"
            "path-ok=[$($env:PATH -ne '/nowhere')]"
            "files=[$(@(Get-ChildItem -Force -Name) -join ',')]"
            "folder=$([Environment]::CurrentDirectory)"
            "location=$((Get-Location).Path)"
            Start-Sleep -Milliseconds 200`),
        ),
      ),
    );
    for (const check of checks) {
      const fields = outputFields(check.records);
      assert.deepEqual([fields.variable, fields.function, fields.env, fields['path-ok'], fields.files], ['[]', '[no]', '[]', '[True]', '[]']);
      assert.equal(fields.folder, fields.location);
      assert.match(fields.folder ?? '', /\/job-[0-9a-f]{32}$/);
      assert.notEqual(fields.folder, firstFolder);
    }
  });

  it('gives each job the built-in commands without importing their modules into its runspace, and loads others on first use', async () => {
    const result = await runner.execute(
      job(`
        Write-Warning 'a warning'
        $null = @{ a = 1 } | ConvertTo-Json
        $null = Get-ChildItem -Name
        "modules-after-builtins=[$((Get-Module).Name -join ',')]"
        Import-Module Microsoft.PowerShell.Utility
        "import-utility-ok=[$([bool](Get-Command ConvertFrom-Json))]"
        "archive-found=[$((Get-Command Compress-Archive).Source)]"
        "modules-after-autoload=[$((Get-Module).Name -join ',')]"`),
    );
    assert.equal(result.outcome, 'succeeded', JSON.stringify(result.records));
    const fields = outputFields(result.records);
    // Importing Utility/Management per job was most of a warm job's cost (docs/runner.md, "the warm path").
    assert.equal(fields['modules-after-builtins'], '[]');
    assert.equal(fields['import-utility-ok'], '[True]');
    assert.equal(fields['archive-found'], '[Microsoft.PowerShell.Archive]');
    assert.match(fields['modules-after-autoload'] ?? '', /Microsoft\.PowerShell\.Archive/);
  });

  it('runs 20 jobs of one requester at once through at most 2 workers with every output in place', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        runner.execute(job(`param([int]$N) "job $N"; [pscustomobject]@{ Square = $N * $N }; ${WORKER_LINE}`, { parameters: { N: index } })),
      ),
    );
    results.forEach((result, index) => {
      assert.equal(result.outcome, 'succeeded');
      assert.deepEqual(outputTexts(result.records).slice(0, 2), [`job ${index}`, `@{Square=${index * index}}`]);
    });
    assert.ok(new Set(results.map((result) => outputFields(result.records).worker)).size <= 2);
  });

  it('replaces a worker whose job timed out, and kills the processes that job started', async () => {
    const requester = 'timeout-tester';
    const sleep = uniqueSleep();
    let worker: number | undefined;
    const result = await runner.execute(
      job(`$null = Start-Process -FilePath sleep -ArgumentList ${sleep} -PassThru; 'child started'; Start-Sleep 60`, { requester, timeoutMs: 2500 }),
      { onStarted: () => (worker = workerOf(runner, requester)) },
    );
    assert.equal(result.outcome, 'timed-out');
    assert.equal(result.exitCode, null);
    assert.deepEqual(outputTexts(result.records), ['child started']);
    assert.ok(worker !== undefined && worker > 0);
    assert.ok(await eventually(() => processesWith(sleep).length === 0), 'the grandchild sleep must be killed');
    assert.ok(await eventually(() => processGone(worker as number)), 'the worker must be killed');
    assert.equal(poolPids().includes(worker), false);
    const next = await runner.execute(job('$PID', { requester }));
    assert.equal(next.outcome, 'succeeded');
    assert.notEqual(workerOf(runner, requester), worker);
  });

  it('cancels a pool job on abort and replaces its worker', async () => {
    const requester = 'cancel-tester';
    const controller = new AbortController();
    let worker: number | undefined;
    const result = await runner.execute(job('Start-Sleep 60', { requester }), {
      signal: controller.signal,
      onStarted: () => {
        worker = workerOf(runner, requester);
        setTimeout(() => controller.abort(), 300);
      },
    });
    assert.equal(result.outcome, 'cancelled');
    assert.ok(await eventually(() => processGone(worker as number)));
    const next = await runner.execute(job("'still serving'", { requester }));
    assert.deepEqual(outputTexts(next.records), ['still serving']);
    assert.notEqual(workerOf(runner, requester), worker);
  });

  it('replaces a worker that crashed, and the next job succeeds', async () => {
    const requester = 'crash-tester';
    const sleep = uniqueSleep();
    let worker: number | undefined;
    // The child keeps the crashed worker's stdout open: the crash must still be seen at once.
    const crashed = await runner.execute(job(`$null = Start-Process -FilePath sleep -ArgumentList ${sleep} -PassThru; [Environment]::Exit(3)`, { requester, timeoutMs: 15_000 }), {
      onStarted: () => (worker = workerOf(runner, requester)),
    });
    assert.equal(crashed.outcome, 'failed');
    assert.equal(crashed.exitCode, 3);
    assert.match(crashed.summary.errors.at(-1) ?? '', /ended unexpectedly \(exit code 3\)/);
    assert.ok(await eventually(() => processesWith(sleep).length === 0));
    assert.equal(poolPids().includes(worker as number), false);
    const next = await runner.execute(job("'after the crash'", { requester }));
    assert.equal(next.outcome, 'succeeded');
    assert.equal(outputTexts(next.records)[0], 'after the crash');
    assert.notEqual(workerOf(runner, requester), worker);
  });

  it('replaces a worker that a job left a background runspace in', async () => {
    const requester = 'threadjob-tester';
    let worker: number | undefined;
    const dirty = await runner.execute(job('$null = Start-ThreadJob { Start-Sleep 30 }', { requester }), { onStarted: () => (worker = workerOf(runner, requester)) });
    assert.equal(dirty.outcome, 'succeeded');
    assert.ok(await eventually(() => processGone(worker as number)));
    assert.equal(poolPids().includes(worker as number), false);
  });

  it('replaces a worker whose job left a detached process behind, and kills that process', async () => {
    const requester = 'stray-tester';
    const sleep = uniqueSleep();
    let worker: number | undefined;
    const result = await runner.execute(job(`sh -c 'sleep ${sleep} >/dev/null 2>&1 & echo started'`, { requester }), {
      onStarted: () => (worker = workerOf(runner, requester)),
    });
    assert.equal(result.outcome, 'succeeded');
    assert.deepEqual(outputTexts(result.records), ['started']);
    assert.ok(await eventually(() => processesWith(sleep).length === 0), 'the stray sleep must be killed with its worker');
    assert.ok(await eventually(() => processGone(worker as number)));
  });

  it("readies a requester's worker for the next job only once the caller recorded the last one's end", async () => {
    const requester = 'recording-tester';
    const order: string[] = [];
    let recorded = (): void => undefined;
    const first = await runner.execute(job(WORKER_LINE, { requester }), { recorded: new Promise<void>((resolve) => (recorded = resolve)) });
    assert.equal(first.outcome, 'succeeded');
    const second = runner.execute(job(WORKER_LINE, { requester }), { onStarted: () => order.push('second started') });
    assert.ok(await eventually(() => runner.stats().pools[0]?.waiting === 1), 'the next job waits for its worker while the last end is being recorded');
    order.push('recorded');
    recorded();
    const result = await second;
    assert.equal(result.outcome, 'succeeded');
    assert.deepEqual(order, ['recorded', 'second started']);
    assert.equal(outputFields(result.records).worker, outputFields(first.records).worker, 'the same worker, readied after the recording');
  });

  it('answers one requester\'s trivial jobs from the same warm worker', async () => {
    await runner.prewarm({ kind: 'pool' });
    const workers = new Set<string>();
    const replacedBefore = runner.stats().pools[0]?.replaced;
    // How fast a warm worker answers is for `npm run bench` (the warm-path ratio); here: that it is reused.
    for (let index = 0; index < 7; index += 1) {
      const result = await runner.execute(job(WORKER_LINE, { requester: 'quick-tester' }));
      assert.equal(result.outcome, 'succeeded');
      workers.add(outputFields(result.records).worker ?? '');
    }
    assert.equal(workers.size, 1, 'one requester\'s clean worker is reused');
    assert.equal(runner.stats().pools[0]?.replaced, replacedBefore);
  });
});

/** DESIGN.md: a pool worker serves one requester for its whole life; spares keep first runs warm. */
describe('pwsh runner: a pool worker serves one requester', function () {
  this.timeout(90_000);

  // What a hostile or careless job can leave in a .NET process: AppDomain data, a static field of a
  // compiled class, and a thread that keeps running after the job.
  const LEAVE_STATE = `
    [AppDomain]::CurrentDomain.SetData('deputy.left', "secret of $env:DEPUTY_REQUESTER")
    Add-Type -TypeDefinition @'
      public static class DeputyLeft {
        public static string Value;
        public static System.Threading.Thread Listener;
        public static void Start(string value) {
          Value = value;
          Listener = new System.Threading.Thread(() => { while (true) System.Threading.Thread.Sleep(1000); });
          Listener.IsBackground = true;
          Listener.Name = "deputy-listener";
          Listener.Start();
        }
      }
'@
    [DeputyLeft]::Start('static of the first requester')
    'state left'`;
  const READ_STATE = `
    "domain=[$([AppDomain]::CurrentDomain.GetData('deputy.left'))]"
    $type = 'DeputyLeft' -as [type]
    "static=[$(if ($type) { $type::Value })]"
    $threads = Get-ChildItem /proc/self/task | ForEach-Object { [System.IO.File]::ReadAllText("$($_.FullName)/comm").Trim() }
    "thread=[$($threads -contains 'deputy-listener')]"`;

  it('keeps AppDomain data, static fields and threads of one requester\'s job from the next requester', async () => {
    // One spare: without binding, the second requester would get the first one's worker back.
    const runner = makeRunner({ poolSize: 1 });
    try {
      await runner.prewarm({ kind: 'pool' });
      const left = await runner.execute(job(LEAVE_STATE, { requester: 'mallory' }));
      assert.equal(left.outcome, 'succeeded', JSON.stringify(left.records));
      const other = await runner.execute(job(READ_STATE, { requester: 'alice' }));
      assert.deepEqual(outputFields(other.records), { domain: '[]', static: '[]', thread: '[False]' });
      // The probe does see the state in the worker that has it: mallory's next job gets the same, warm worker.
      const same = await runner.execute(job(READ_STATE, { requester: 'mallory' }));
      assert.deepEqual(outputFields(same.records), { domain: '[secret of ]', static: '[static of the first requester]', thread: '[True]' });
      const bound = runner.stats().pools[0]?.detail.filter((worker) => worker.requester !== undefined).map((worker) => worker.requester);
      assert.deepEqual(bound?.sort(), ['alice', 'mallory']);
    } finally {
      await runner.close();
    }
  });

  it('gives a requester\'s first job a pre-warmed spare and warms a new spare in its place', async () => {
    const runner = makeRunner({ poolSize: 1 });
    try {
      await runner.prewarm({ kind: 'pool' });
      const [spare] = runner.stats().pools[0]?.pids ?? [];
      assert.ok(spare);
      const result = await runner.execute(job("'first'", { requester: 'carol' }));
      assert.equal(result.outcome, 'succeeded');
      assert.equal(workerOf(runner, 'carol'), spare, 'the first job ran in the worker that was already warm');
      assert.ok(await eventually(() => runner.stats().pools[0]?.spares === 1, 30_000), 'a new spare is warmed');
      assert.notEqual(runner.stats().pools[0]?.detail.find((worker) => worker.requester === undefined)?.pid, spare);
    } finally {
      await runner.close();
    }
  });

  it('retires a worker its requester left idle, and makes room for another requester when the pool is full', async () => {
    const runner = makeRunner({ poolSize: 1, poolMaxWorkers: 2, poolIdleMs: 60_000 });
    try {
      const first = await runner.execute(job("'dave'", { requester: 'dave' }));
      assert.equal(first.outcome, 'succeeded');
      const dave = workerOf(runner, 'dave');
      await runner.execute(job("'erin'", { requester: 'erin' }));
      // Full: dave's and erin's workers. Frank's job needs room: the longest-idle worker (dave's) ends.
      const frank = await runner.execute(job("'frank'", { requester: 'frank' }));
      assert.equal(frank.outcome, 'succeeded');
      assert.equal(workerOf(runner, 'dave'), undefined);
      assert.ok(await eventually(() => processGone(dave as number)));
      assert.ok((runner.stats().pools[0]?.workers ?? 99) <= 2);
    } finally {
      await runner.close();
    }
    const quick = makeRunner({ poolSize: 1, poolIdleMs: 500 });
    try {
      await quick.execute(job("'gina'", { requester: 'gina' }));
      const gina = workerOf(quick, 'gina');
      assert.ok(gina);
      assert.ok(await eventually(() => workerOf(quick, 'gina') === undefined && processGone(gina), 15_000), 'an idle bound worker ends');
      assert.equal(quick.stats().pools[0]?.retired, 1);
      assert.equal(quick.stats().pools[0]?.spares, 1, 'the spare stays');
    } finally {
      await quick.close();
    }
  });
});

/** docs/runner.md "Host protocol": the empty line that readies the next job, and a job that comes without it. */
describe('pwsh host: getting the next job ready', function () {
  this.timeout(60_000);

  it('opens each job a fresh runspace and folder whether or not an empty line readied it, and leaves no job folder behind', () => {
    const pwsh = locatePwsh(process.env, PROJECT_ROOT);
    assert.ok(pwsh, 'pwsh is needed');
    const folder = mkdtempSync(join(tmpdir(), `${WORK_ROOT_PREFIX}host-`));
    const home = mkdtempSync(join(tmpdir(), 'deputy-host-home-'));
    try {
      const key = 'a'.repeat(32);
      const line = (id: string, script: string) => JSON.stringify({ id, script, parameters: {}, secrets: [] });
      const remember = '$global:seen = "$global:seen+$PWD"; (Split-Path -Leaf $PWD) + " " + $global:seen';
      // Job 2 comes without the empty line; job 3 after two of them.
      const input = [key, line('one', remember), line('two', remember), '', '', line('three', remember), ''].join('\n') + '\n';
      const result = spawnSync(pwsh.path, ['-NoProfile', '-NonInteractive', '-NoLogo', '-File', HOST_SCRIPT, '-Warm', '-JobFolders'], { input, cwd: folder, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home } });
      assert.equal(result.status, 0, result.stderr);
      const frames = result.stdout.split('\n').filter((text) => text.startsWith(key)).map((text) => JSON.parse(text.slice(key.length)) as { t: string; text?: string; id?: string; clean?: boolean });
      assert.deepEqual(frames.filter((frame) => frame.t === 'end').map((frame) => [frame.id, frame.clean]), [['one', true], ['two', true], ['three', true]]);
      const outputs = frames.filter((frame) => frame.t === 'rec').map((frame) => frame.text ?? '');
      assert.equal(outputs.length, 3);
      const folders = outputs.map((text) => text.split(' ')[0]);
      assert.equal(new Set(folders).size, 3, 'a fresh folder per job');
      for (const [index, text] of outputs.entries()) assert.equal(text.split(' ')[1], `+${join(folder, folders[index] ?? '')}`, 'a fresh runspace per job: nothing of the last one');
      assert.deepEqual(readdirSync(folder), [], 'no job folder is left when the host ends');
    } finally {
      rmSync(folder, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    }
  });
});
