<#
.SYNOPSIS
Echoes a message back.
.PARAMETER Message
The message. Echoed back exactly as given.
.PARAMETER Times
How often to repeat it.
#>
param(
    [Parameter(Mandatory)]
    [ValidateLength(1, 200)]
    [string]$Message,

    [ValidateRange(1, 5)]
    [int]$Times = 1
)
for ($i = 0; $i -lt $Times; $i++) { $Message }
Write-Warning "echoed $Times time(s)"
