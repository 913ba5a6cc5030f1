<#
.SYNOPSIS
Shows the last lines of one of the host's allow-listed log files.

.DESCRIPTION
Reads only the logs named in the list below, from the log folder the action fixes; no free
paths. An optional filter keeps only lines that contain the given text (plain text, not a
pattern).

.PARAMETER Log
Log file. One of the allow-listed logs of the host.

.PARAMETER Lines
Number of lines. Counted from the end of the file.

.PARAMETER Contains
Only lines containing. Plain text, compared without regard to case.

.PARAMETER LogFolder
Log folder. Fixed by the action; users cannot change it.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [ValidateSet('dpkg', 'alternatives', 'apt-history', 'apt-terminal', 'fontconfig')]
    [string] $Log,

    [ValidateRange(1, 500)]
    [int] $Lines = 50,

    [ValidateLength(1, 100)]
    [string] $Contains,

    [string] $LogFolder = '/var/log'
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$files = @{
    'dpkg'         = 'dpkg.log'
    'alternatives' = 'alternatives.log'
    'apt-history'  = 'apt/history.log'
    'apt-terminal' = 'apt/term.log'
    'fontconfig'   = 'fontconfig.log'
}
$path = Join-Path -Path $LogFolder -ChildPath $files[$Log]
if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
    throw "The $Log log does not exist on this host."
}

$selected = Get-Content -LiteralPath $path -Tail $(if ($Contains) { 100000 } else { $Lines })
if ($Contains) {
    $selected = @($selected | Where-Object { $_.IndexOf($Contains, [System.StringComparison]::OrdinalIgnoreCase) -ge 0 }) |
        Select-Object -Last $Lines
}
$number = 0
foreach ($line in $selected) {
    $number++
    [pscustomobject]@{ Log = $Log; Line = $number; Text = $line }
}
