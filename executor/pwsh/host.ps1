#Requires -Version 7.4
<#
  Deputy's pwsh host: runs jobs sent by the executor (executor/pwsh/worker.ts), each in a
  fresh runspace. Protocol (docs/runner.md):

  stdin:  line 1 is the frame key (32 hex digits); every further line is one job as JSON:
          { id, script, parameters: { name: value }, secrets: [names], srx?: { startedBy, … } }
  stdout: protocol frames are `<key><json>` lines: ready, started, rec (one stream record),
          end. Anything else on stdout (a script calling [Console]::WriteLine, a native
          program writing to the terminal) is plain text; it cannot forge a frame because it
          does not know the key, which travels on stdin only.

  Parameter values are splatted with AddParameters, never pasted into source text.

  -Warm: a pool worker, which takes job after job: warm the engine before reporting ready (it
  waits for jobs anyway), and after each job check that the job left nothing behind. One-job
  workers skip both, start their job sooner and report `clean: false` (they take no other job).
  -JobFolders: run each job in a fresh, empty folder below the host's working folder, removed
  after the job (pool workers of service and pool runs).
  -Contained: the host is alone in a PID namespace of its own, so every other process in /proc
  that is not one of its ancestors is something a job left behind.
#>
param([switch] $Warm, [switch] $JobFolders, [switch] $Contained)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

# pwsh listens on a socket in $env:TMPDIR for Enter-PSHostProcess (CoreFxPipe_PSHost.*): whoever
# can connect to it runs code in this process, and every service and pool run is the same account.
# No job needs it, so it goes before any job arrives (docs/security.md, "Run isolation").
$ipcServerType = [System.Management.Automation.PowerShell].Assembly.GetType('System.Management.Automation.Remoting.RemoteSessionNamedPipeServer')
$ipcFlags = [System.Reflection.BindingFlags]'NonPublic, Static'
$ipcEnabled = if ($ipcServerType) { $ipcServerType.GetField('IPCNamedPipeServerEnabled', $ipcFlags) }
$ipcSingleton = if ($ipcServerType) { $ipcServerType.GetField('IPCNamedPipeServer', $ipcFlags) }
if ($ipcEnabled) { $ipcEnabled.SetValue($null, $false) }
if ($ipcSingleton -and $ipcSingleton.GetValue($null)) { $ipcSingleton.GetValue($null).Dispose() }
Remove-Variable ipcServerType, ipcFlags, ipcEnabled, ipcSingleton

# Captures `exit <n>` from a job: PowerShell hands the code to the host, not to the caller.
# NoRunspaceAffinity: the job's thread calls these methods, not the host's runspace.
[NoRunspaceAffinity()]
class DeputyJobHost : System.Management.Automation.Host.PSHost {
  [int] $ExitCode = -1
  hidden [guid] $Id = [guid]::NewGuid()
  [string] get_Name() { return 'Deputy' }
  [version] get_Version() { return [version]'1.0' }
  [guid] get_InstanceId() { return $this.Id }
  [System.Management.Automation.Host.PSHostUserInterface] get_UI() { return $null }
  [cultureinfo] get_CurrentCulture() { return [cultureinfo]::InvariantCulture }
  [cultureinfo] get_CurrentUICulture() { return [cultureinfo]::InvariantCulture }
  [void] SetShouldExit([int] $code) { $this.ExitCode = $code }
  [void] EnterNestedPrompt() { throw [NotSupportedException]::new('Deputy runs have no nested prompt.') }
  [void] ExitNestedPrompt() { throw [NotSupportedException]::new('Deputy runs have no nested prompt.') }
  [void] NotifyBeginApplication() { }
  [void] NotifyEndApplication() { }
}

$utf8 = [System.Text.UTF8Encoding]::new($false)
[Console]::InputEncoding = $utf8
[Console]::OutputEncoding = $utf8
$stdin = [Console]::In
# Our own writer on fd 1, so a script that replaces [Console]::Out cannot touch the protocol.
# A large buffer makes each flush one write(2), so console text from another thread cannot split a
# frame. Frames are flushed at each poll of a running job and with every control frame (a job's last
# records go with its end frame): each write wakes the executor, which then takes the CPU from pwsh.
$frameWriter = [System.IO.StreamWriter]::new([Console]::OpenStandardOutput(), $utf8, 1MB)
$frameWriter.AutoFlush = $false
$frameWriter.NewLine = "`n"

$frameKey = $stdin.ReadLine()
if ($null -eq $frameKey -or $frameKey -cnotmatch '^[0-9a-f]{32}$') {
  [Console]::Error.WriteLine('deputy host: the first stdin line must be the 32-hex-digit frame key')
  exit 64
}

$MaxTextChars = 32768
$MaxDataChars = 262144
$MaxItems = 50
$MaxProperties = 30
$MaxDataDepth = 2
$PollMs = 15

function Send-Frame([System.Collections.IDictionary] $Frame) {
  $json = ConvertTo-Json -InputObject $Frame -Compress -Depth 12 -WarningAction Ignore
  $frameWriter.WriteLine($frameKey + $json)
  $frameWriter.Flush()
}

# Records are most of the traffic: built by hand (HttpUtility escapes the strings as JSON), since
# a cmdlet call per line is what made large outputs slow.
function Send-Record([string] $Stream, [string] $Text, $Data, [bool] $HasData) {
  if ($Text.Length -gt $MaxTextChars) { $Text = Limit-Text $Text }
  $line = $frameKey + '{"t":"rec","s":"' + $Stream + '","text":' + [System.Web.HttpUtility]::JavaScriptStringEncode($Text, $true)
  if ($HasData) {
    $json = ConvertTo-Json -InputObject $Data -Compress -Depth 12 -WarningAction Ignore
    # An object too large to carry as data still arrives as its text rendering.
    if ($null -ne $json -and $json.Length -le $MaxDataChars) { $line += ',"data":' + $json }
  }
  $frameWriter.WriteLine($line + '}')
}

function Limit-Text([string] $Text) {
  if ($Text.Length -le $MaxTextChars) { return $Text }
  return $Text.Substring(0, $MaxTextChars) + ' …[record cut]'
}

function Test-Scalar($Value) {
  return $Value -is [string] -or $Value -is [char] -or $Value -is [bool] -or $Value -is [enum] -or
    $Value -is [datetime] -or $Value -is [datetimeoffset] -or $Value -is [timespan] -or $Value -is [guid] -or
    $Value -is [version] -or $Value -is [uri] -or ($Value -is [ValueType] -and $Value.GetType().IsPrimitive) -or
    $Value -is [decimal] -or $Value -is [bigint]
}

# A JSON-safe, depth-limited projection of an output object: what `data` carries.
function ConvertTo-Data($Value, [int] $Depth) {
  if ($null -eq $Value) { return $null }
  $base = if ($Value -is [psobject]) { $Value.psobject.BaseObject } else { $Value }
  if ($base -is [string] -or $base -is [char]) { return [string]$base }
  if ($base -is [bool]) { return $base }
  if ($base -is [double] -or $base -is [single]) {
    if ([double]::IsNaN($base) -or [double]::IsInfinity($base)) { return $base.ToString([cultureinfo]::InvariantCulture) }
    return $base
  }
  if ($base -is [datetime] -or $base -is [datetimeoffset]) { return $base.ToString('o', [cultureinfo]::InvariantCulture) }
  if ($base -is [enum]) { return $base.ToString() }
  if (Test-Scalar $base) {
    if ($base -is [ValueType] -and $base.GetType().IsPrimitive -or $base -is [decimal]) { return $base }
    return [string]$base
  }
  if ($Depth -ge $MaxDataDepth) { return Limit-Text ([string]$Value) }
  # Plain loops, not pipelines: this runs for every output object.
  if ($base -is [System.Collections.IDictionary]) {
    # Counted apart: $map.Count would read a key named "Count".
    $map = [ordered]@{}
    $taken = 0
    foreach ($key in $base.get_Keys()) {
      if ($taken++ -ge $MaxItems) { break }
      $map[[string]$key] = ConvertTo-Data $base[$key] ($Depth + 1)
    }
    return $map
  }
  if ($base -is [System.Collections.IEnumerable]) {
    $items = [System.Collections.Generic.List[object]]::new()
    foreach ($element in $base) {
      if ($items.Count -ge $MaxItems) { break }
      $items.Add((ConvertTo-Data $element ($Depth + 1)))
    }
    return , $items.ToArray()
  }
  $map = [ordered]@{}
  $taken = 0
  foreach ($property in $Value.psobject.Properties) {
    # Script properties are skipped: their getters are code that would run here, in the host's runspace.
    if (-not $property.IsGettable -or $property.MemberType -notin 'Property', 'NoteProperty', 'AliasProperty', 'CodeProperty') { continue }
    if ($taken++ -ge $MaxProperties) { break }
    $propertyValue = try { $property.Value } catch { $null }
    $map[$property.Name] = if ($null -eq $propertyValue -or $propertyValue -is [string] -or $propertyValue -is [int] -or $propertyValue -is [long] -or $propertyValue -is [bool]) { $propertyValue }
    else { ConvertTo-Data $propertyValue ($Depth + 1) }
  }
  return $map
}

function Format-Line($Data) {
  if ($Data -is [System.Collections.IDictionary]) {
    $pairs = foreach ($key in $Data.get_Keys()) {
      $value = $Data[$key]
      if ($value -is [System.Collections.IDictionary] -or $value -is [array]) { "$key=$(Format-Line $value)" } else { "$key=$value" }
    }
    return '@{' + ($pairs -join '; ') + '}'
  }
  if ($Data -is [array]) { return (@($Data | ForEach-Object { Format-Line $_ }) -join ', ') }
  return [string]$Data
}

function Send-Output($Item) {
  $base = if ($Item -is [psobject]) { $Item.psobject.BaseObject } else { $Item }
  if ($null -eq $base) { Send-Record 'output' ''; return }
  if ($base -is [string]) { Send-Record 'output' $base; return }
  $data = ConvertTo-Data $Item 0
  $custom = $base -is [System.Management.Automation.PSCustomObject] -or $base -is [System.Collections.IDictionary]
  $text = if ($custom -or -not ($data -is [System.Collections.IDictionary])) { Format-Line $data } else {
    $own = [string]$base
    if ($own -eq $base.GetType().FullName) { Format-Line $data } else { $own }
  }
  Send-Record 'output' $text $data $true
}

function Send-ErrorRecord([System.Management.Automation.ErrorRecord] $Record) {
  $line = if ($Record.InvocationInfo -and $Record.InvocationInfo.ScriptLineNumber -gt 0) { $Record.InvocationInfo.ScriptLineNumber } else { $null }
  Send-Record 'error' $Record.ToString() ([ordered]@{ errorId = $Record.FullyQualifiedErrorId; category = [string]$Record.CategoryInfo.Category; line = $line }) $true
}

# With MergeMyResults(All → Output) every stream but progress arrives here, in the order written.
function Send-Item($Item) {
  $base = if ($Item -is [psobject]) { $Item.psobject.BaseObject } else { $Item }
  if ($base -is [string]) { Send-Record 'output' $base }
  elseif ($base -is [System.Management.Automation.ErrorRecord]) { Send-ErrorRecord $base }
  elseif ($base -is [System.Management.Automation.WarningRecord]) { Send-Record 'warning' $base.Message }
  elseif ($base -is [System.Management.Automation.VerboseRecord]) { Send-Record 'verbose' $base.Message }
  elseif ($base -is [System.Management.Automation.DebugRecord]) { Send-Record 'verbose' "DEBUG: $($base.Message)" }
  elseif ($base -is [System.Management.Automation.InformationRecord]) { Send-Record 'information' ([string]$base.MessageData) }
  else { Send-Output $Item }
}

$outputFramePrefix = $frameKey + '{"t":"rec","s":"output","text":'

# Sends what the job wrote since the last call. Plain strings, most of the traffic, are framed
# inline: a PowerShell function call per line costs ten times the framing itself.
function Send-Pending($OutputItems, $ProgressItems) {
  foreach ($item in $OutputItems.ReadAll()) {
    $base = $item.psobject.BaseObject
    if ($base -is [string] -and $base.Length -le $MaxTextChars) {
      $frameWriter.WriteLine($outputFramePrefix + [System.Web.HttpUtility]::JavaScriptStringEncode($base, $true) + '}')
    } else { Send-Item $item }
  }
  foreach ($record in $ProgressItems.ReadAll()) { Send-Progress $record }
}

function Send-Progress([System.Management.Automation.ProgressRecord] $Record) {
  $text = if ($Record.RecordType -eq 'Completed') { "$($Record.Activity): completed" }
  elseif ($Record.PercentComplete -ge 0) { "$($Record.Activity): $($Record.StatusDescription) ($($Record.PercentComplete)%)" }
  else { "$($Record.Activity): $($Record.StatusDescription)" }
  Send-Record 'progress' $text
}

function ConvertTo-SecureValue([string] $Plain) {
  return [System.Net.NetworkCredential]::new('', $Plain).SecurePassword
}

# Secret parameters arrive as strings (or { username, password }) and become SecureString / PSCredential here.
function ConvertTo-JobParameters([System.Collections.IDictionary] $Job) {
  $parameters = @{}
  if ($Job['parameters']) { foreach ($key in $Job['parameters'].get_Keys()) { $parameters[$key] = $Job['parameters'][$key] } }
  foreach ($name in @($Job['secrets'])) {
    if ($null -eq $name -or -not $parameters.ContainsKey($name)) { continue }
    $value = $parameters[$name]
    $parameters[$name] = if ($value -is [System.Collections.IDictionary]) {
      [pscredential]::new([string]$value['username'], (ConvertTo-SecureValue ([string]$value['password'])))
    } else { ConvertTo-SecureValue ([string]$value) }
  }
  return $parameters
}

# CreateDefault, not CreateDefault2: the built-in commands (Utility, Management, Security) are part of
# the session state, so a job that calls Write-Warning or ConvertTo-Json does not import their
# modules into its fresh runspace first (about 25 ms of CPU per job, most of a warm job's cost).
$sessionState = [System.Management.Automation.Runspaces.InitialSessionState]::CreateDefault()
$hostRunspaceId = [runspace]::DefaultRunspace.Id

function New-JobRunspace {
  $jobHost = [DeputyJobHost]::new()
  $runspace = [runspacefactory]::CreateRunspace($jobHost, $sessionState)
  $runspace.Open()
  return @{ Host = $jobHost; Runspace = $runspace }
}

function Get-ProcessState([string] $Folder) {
  $stat = try { [System.IO.File]::ReadAllText("$Folder/stat") } catch { return $null }
  # Fields after the command name: state, ppid, …
  return , $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
}

# The host and the processes above it (launchers, the namespace's first process): never a job's leftover.
function Get-OwnChain {
  $chain = [System.Collections.Generic.HashSet[int]]::new()
  for ($current = $PID; $current -gt 0 -and $chain.Add($current); ) {
    $fields = Get-ProcessState "/proc/$current"
    $current = if ($fields) { [int]$fields[1] } else { 0 }
  }
  return , $chain
}
$ownChain = $null

# A process a job left running: in a namespace of our own, any process outside our chain, also one
# that called setsid or whose parent exited; otherwise a child of ours.
function Test-LeftProcess {
  if ($Contained) {
    if ($null -eq $script:ownChain) { $script:ownChain = Get-OwnChain }
    foreach ($folder in [System.IO.Directory]::GetDirectories('/proc')) {
      $id = 0
      if (-not [int]::TryParse([System.IO.Path]::GetFileName($folder), [ref] $id) -or $ownChain.Contains($id)) { continue }
      $fields = Get-ProcessState $folder
      if ($fields -and $fields[0] -notin 'Z', 'X') { return $true }
    }
    return $false
  }
  foreach ($task in [System.IO.Directory]::GetDirectories("/proc/$PID/task")) {
    $children = try { [System.IO.File]::ReadAllText("$task/children") } catch { '' }
    if ($children.Trim()) { return $true }
  }
  return $false
}

# A worker is clean when a job left nothing behind that could touch the next one:
# no runspace still open (thread jobs, background pipelines) and no process.
function Test-WorkerClean {
  $leftRunspaces = @(Get-Runspace | Where-Object { $_.Id -ne $hostRunspaceId -and $_.RunspaceStateInfo.State -notin 'Closed', 'Broken' })
  if ($leftRunspaces.Count -gt 0) { return $false }
  return -not (Test-LeftProcess)
}

$workerFolder = [Environment]::CurrentDirectory

# A fresh folder, readable by this account alone, for the next job. It becomes the process's
# current folder, so the runspace opened next starts in it (setting a runspace's location later
# costs tens of milliseconds on the job's path).
function New-JobFolder {
  $folder = [System.IO.Path]::Combine($workerFolder, 'job-' + [guid]::NewGuid().ToString('n'))
  [void][System.IO.Directory]::CreateDirectory($folder, [System.IO.UnixFileMode]'UserRead, UserWrite, UserExecute')
  [Environment]::CurrentDirectory = $folder
  return $folder
}

# After the job's end frame, off its path. A worker that cannot remove a job's folder ends: what is
# left there must not meet the next job.
function Remove-JobFolder([string] $Folder) {
  [Environment]::CurrentDirectory = $workerFolder
  try { [System.IO.Directory]::Delete($Folder, $true) } catch {
    [Console]::Error.WriteLine("deputy host: cannot remove the job folder: $($_.Exception.Message)")
    exit 70
  }
}

function Restore-ProcessState([System.Collections.IDictionary] $EnvironmentBefore, [string] $FolderBefore) {
  $now = [Environment]::GetEnvironmentVariables()
  foreach ($name in @($now.get_Keys())) {
    if (-not $EnvironmentBefore.Contains($name)) { [Environment]::SetEnvironmentVariable($name, $null) }
  }
  foreach ($name in $EnvironmentBefore.get_Keys()) {
    if ($now[$name] -cne $EnvironmentBefore[$name]) { [Environment]::SetEnvironmentVariable($name, $EnvironmentBefore[$name]) }
  }
  [Environment]::CurrentDirectory = $FolderBefore
}

# $SRXEnv for scripts written for ScriptRunner (docs/runner.md): what the run is, set before the
# script; what it leaves in ResultMessage, ResultList, ResultList2 and ResultHtml, read after it.
function New-SrxEnv([System.Collections.IDictionary] $Context) {
  return [pscustomobject]@{
    ResultMessage    = $null
    ResultList       = [System.Collections.ArrayList]::new()
    ResultList2      = [System.Collections.ArrayList]::new()
    ResultHtml       = $null
    SRXStartedBy     = [string]$Context['startedBy']
    SRXStartedReason = [string]$Context['startedReason']
    SRXDisplayName   = [string]$Context['displayName']
    SRXActionID      = [string]$Context['actionId']
    SRXScriptName    = [string]$Context['scriptName']
    SRXStarted       = [datetime]::UtcNow
    SRXRunOn         = [Environment]::MachineName
  }
}

# Runs in the job's runspace, after the job: whatever the script put there (objects with getters
# of its own included) becomes plain text there, never in the host's runspace. The budgets keep
# the end frame well under the reader's line limit.
$SrxReader = @'
param($Environment, [int] $MessageChars, [int] $HtmlChars, [int] $ListChars, [int] $ItemChars)
function Limit([string] $Text, [int] $Chars) { if ($Text.Length -le $Chars) { $Text } else { $Text.Substring(0, $Chars) + ' …[cut]' } }
$values = @($Environment.ResultList)
$titles = @($Environment.ResultList2)
$list = [System.Collections.Generic.List[string]]::new()
$list2 = [System.Collections.Generic.List[string]]::new()
$used = 0
$cut = $false
# ResultList2[i] is the display text of ResultList[i]: the two are cut at the same index.
for ($i = 0; $i -lt [Math]::Max($values.Count, $titles.Count); $i++) {
  $value = if ($i -lt $values.Count -and $null -ne $values[$i]) { Limit ([string]$values[$i]) $ItemChars } else { '' }
  $title = if ($i -lt $titles.Count -and $null -ne $titles[$i]) { Limit ([string]$titles[$i]) $ItemChars } else { '' }
  if ($used + $value.Length + $title.Length -gt $ListChars) { $cut = $true; break }
  $used += $value.Length + $title.Length
  if ($i -lt $values.Count) { $list.Add($value) }
  if ($i -lt $titles.Count) { $list2.Add($title) }
}
$message = if ($null -ne $Environment.ResultMessage) { Limit ((@($Environment.ResultMessage) | Out-String -Width 400).TrimEnd()) $MessageChars }
$html = if ($null -ne $Environment.ResultHtml) { Limit ((@($Environment.ResultHtml) | ForEach-Object { [string]$_ }) -join "`n") $HtmlChars }
[ordered]@{ message = $message; list = $list.ToArray(); list2 = $list2.ToArray(); listCut = $cut; html = $html }
'@

function Read-SrxEnv($Runspace, $Environment) {
  $reader = [powershell]::Create()
  $reader.Runspace = $Runspace
  try {
    [void]$reader.AddScript($SrxReader).AddArgument($Environment).AddArgument(32768).AddArgument(262144).AddArgument(393216).AddArgument(1024)
    $found = @($reader.Invoke())
    if ($found.Count -ne 1 -or $found[0] -isnot [System.Collections.IDictionary]) { return $null }
    $result = $found[0]
    return [ordered]@{
      message = if ($null -ne $result['message']) { [string]$result['message'] } else { $null }
      list = [string[]]@($result['list']); list2 = [string[]]@($result['list2']); listCut = [bool]$result['listCut']
      html = if ($null -ne $result['html']) { [string]$result['html'] } else { $null }
    }
  }
  catch {
    Send-Record 'warning' "Deputy could not read `$SRXEnv after the script: $($_.Exception.Message)"
    return $null
  }
  finally { $reader.Dispose() }
}

function Invoke-Job([System.Collections.IDictionary] $Job, [hashtable] $Prepared) {
  $environmentBefore = [Environment]::GetEnvironmentVariables()
  $folderBefore = [Environment]::CurrentDirectory
  $shell = [powershell]::Create()
  $shell.Runspace = $Prepared.Runspace
  $terminated = $false
  $srx = if ($Job['srx']) { New-SrxEnv $Job['srx'] } else { $null }
  if ($srx) { $Prepared.Runspace.SessionStateProxy.SetVariable('SRXEnv', $srx) }
  try {
    [void]$shell.AddScript([string]$Job['script'])
    [void]$shell.AddParameters((ConvertTo-JobParameters $Job))
    $shell.Commands.Commands[0].MergeMyResults('All', 'Output')
    $inputItems = [System.Management.Automation.PSDataCollection[psobject]]::new()
    $inputItems.Complete()
    $outputItems = [System.Management.Automation.PSDataCollection[psobject]]::new()
    # Framed by hand, as records are: it is on every job's path.
    $frameWriter.WriteLine($frameKey + '{"t":"started","id":' + [System.Web.HttpUtility]::JavaScriptStringEncode([string]$Job['id'], $true) + '}')
    $frameWriter.Flush()
    $pending = $shell.BeginInvoke($inputItems, $outputItems)
    # Poll rather than subscribe: DataAdded fires on the job's thread, where host functions cannot run.
    while (-not $pending.AsyncWaitHandle.WaitOne($PollMs)) { Send-Pending $outputItems $shell.Streams.Progress; $frameWriter.Flush() }
    Send-Pending $outputItems $shell.Streams.Progress
    try { [void]$shell.EndInvoke($pending) } catch {
      $terminated = $true
      $inner = $_.Exception
      while ($inner -is [System.Management.Automation.MethodInvocationException] -and $inner.InnerException) { $inner = $inner.InnerException }
      if ($inner -is [System.Management.Automation.IContainsErrorRecord]) { Send-ErrorRecord $inner.ErrorRecord }
      else { Send-Record 'error' $inner.Message }
    }
  } catch {
    # The job could not even start (e.g. a script that does not parse).
    $terminated = $true
    Send-Record 'error' $_.Exception.Message
  }
  $hadErrors = $terminated -or $shell.HadErrors
  $explicitExit = $Prepared.Host.ExitCode
  $exitCode = if ($explicitExit -ge 0) { $explicitExit } elseif ($hadErrors) { 1 } else { 0 }
  $shell.Dispose()
  $srxResult = if ($srx) { Read-SrxEnv $Prepared.Runspace $srx } else { $null }
  $Prepared.Runspace.Dispose()
  Restore-ProcessState $environmentBefore $folderBefore
  $end = [ordered]@{
    t = 'end'; id = [string]$Job['id']; succeeded = (-not $hadErrors -and $exitCode -eq 0)
    hadErrors = $hadErrors; terminated = $terminated; exitCode = $exitCode; clean = ($Warm -and (Test-WorkerClean))
  }
  if ($srxResult) { $end.srx = $srxResult }
  Send-Frame $end
}

if ($Warm) {
  # Load type tables, the Utility module and the JSON code now, so a pool's first job is as fast as later ones.
  $warmup = New-JobRunspace
  $warmShell = [powershell]::Create()
  $warmShell.Runspace = $warmup.Runspace
  [void]$warmShell.AddScript('$null = Get-Date | Select-Object Year | ConvertTo-Json; Write-Output ([pscustomobject]@{ a = 1 })')
  [void]$warmShell.Invoke()
  $warmShell.Dispose()
  $warmup.Runspace.Dispose()
  [void](ConvertTo-Json -InputObject (ConvertTo-Data ([pscustomobject]@{ a = 1; b = Get-Date }) 0) -Compress)
}

Send-Frame ([ordered]@{ t = 'ready'; pid = $PID; version = $PSVersionTable.PSVersion.ToString() })

# The next job's runspace (and folder) is opened before the job arrives, but only after the
# previous job is gone, so no job can reach it: at start, and after a job when the executor sends
# an empty line, which it does once it has recorded the job's end, so that this work (about 20 ms
# of CPU) does not compete with that on the job's path. A job that comes first opens it itself.
# (A hashtable, not script-scoped variables: a target system's session runs this script in another scope.)
$next = @{ Prepared = $null; Folder = $null; Finished = $null }
function Open-NextJob {
  if ($next.Finished) { Remove-JobFolder $next.Finished; $next.Finished = $null }
  $next.Folder = if ($JobFolders) { New-JobFolder } else { $null }
  $next.Prepared = New-JobRunspace
}

Open-NextJob
while ($true) {
  $line = $stdin.ReadLine()
  if ($null -eq $line) { break }
  if ($null -eq $next.Prepared) { Open-NextJob }
  if ($line.Length -eq 0) { continue }
  # DateKind String: an ISO date given to a [string] parameter stays the text it was.
  $job = ConvertFrom-Json -InputObject $line -AsHashtable -DateKind String -Depth 16
  $line = $null
  Invoke-Job $job $next.Prepared
  $job = $null
  $next.Prepared = $null
  $next.Finished = $next.Folder
}
# stdin closed: neither the last job's folder nor one readied for a job that never came stays.
if ($next.Finished) { Remove-JobFolder $next.Finished }
if ($next.Prepared -and $next.Folder) { Remove-JobFolder $next.Folder }
