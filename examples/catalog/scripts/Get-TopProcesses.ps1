<#
.SYNOPSIS
Lists the processes that use the most CPU time or memory on the executor host.

.DESCRIPTION
Reads the running processes with Get-Process and returns the top ones as a table: name,
process id, CPU seconds, working set in MB and start time.

.PARAMETER SortBy
Sort by. CPU sorts by total processor time, Memory by working set.

.PARAMETER Top
Number of processes. How many rows to return.
#>
[CmdletBinding()]
param(
    [ValidateSet('CPU', 'Memory')]
    [string] $SortBy = 'CPU',

    [ValidateRange(1, 50)]
    [int] $Top = 10
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$sortProperty = if ($SortBy -eq 'CPU') { 'CpuSeconds' } else { 'MemoryMB' }

Get-Process |
    ForEach-Object {
        # CPU and StartTime are unreadable for some processes of other accounts; show them empty.
        $cpu = try { $_.TotalProcessorTime.TotalSeconds } catch { 0 }
        $started = try { $_.StartTime.ToString('yyyy-MM-dd HH:mm:ss') } catch { $null }
        [pscustomobject]@{
            Name       = $_.ProcessName
            Id         = $_.Id
            CpuSeconds = [math]::Round($cpu, 2)
            MemoryMB   = [math]::Round($_.WorkingSet64 / 1MB, 1)
            StartTime  = $started
        }
    } |
    Sort-Object -Property $sortProperty -Descending |
    Select-Object -First $Top
