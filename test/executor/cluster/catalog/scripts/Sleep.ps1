<#
.SYNOPSIS
Sleeps, to be cancelled.
.PARAMETER Seconds
How long to sleep.
#>
param(
    [Parameter(Mandatory)]
    [ValidateRange(0, 600)]
    [int]$Seconds
)
'sleeping'
Start-Sleep -Seconds $Seconds
'woke up'
