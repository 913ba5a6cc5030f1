<#
.SYNOPSIS
Tells whether a service or process is running on the executor host.

.DESCRIPTION
Looks for processes with the given name and, where the host runs systemd, for a unit of
that name too. Returns one object with the state, the process ids and since when the
oldest of them runs.

.PARAMETER Name
Service or process name. For example sshd, cron or pwsh; letters, digits, dot, dash, underscore and @ only.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [ValidateLength(1, 64)]
    [ValidatePattern('^[a-z0-9_.@-]+$')]
    [string] $Name
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# "Not running" is an answer, not a failure: Get-Process -Name reports a missing process as an
# error (even silenced, it marks the run as failed), so the list is filtered instead.
$processes = @(Get-Process | Where-Object { $_.ProcessName -eq $Name })
$since = $null
if ($processes.Count -gt 0) {
    $starts = @($processes | ForEach-Object { try { $_.StartTime } catch { $null } } | Where-Object { $null -ne $_ })
    if ($starts.Count -gt 0) { $since = ($starts | Sort-Object | Select-Object -First 1).ToString('yyyy-MM-dd HH:mm:ss') }
}

# systemd answers only where it is PID 1; in containers there is no unit state to report.
$unitState = 'no systemd on this host'
if ((Test-Path -LiteralPath '/run/systemd/system') -and (Get-Command -Name systemctl -CommandType Application -ErrorAction SilentlyContinue)) {
    $unitState = (& systemctl is-active -- "$Name" 2>$null | Select-Object -First 1)
    if (-not $unitState) { $unitState = 'unknown' }
}

[pscustomobject]@{
    Name      = $Name
    Running   = $processes.Count -gt 0
    Processes = $processes.Count
    Ids       = (@($processes | ForEach-Object Id) -join ', ')
    Since     = $since
    Unit      = $unitState
}
