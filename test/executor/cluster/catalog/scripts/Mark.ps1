<#
.SYNOPSIS
Appends one line to the file named by Token, then waits a moment: two lines would mean the run ran twice.
.PARAMETER Token
The name of the mark.
.PARAMETER Milliseconds
How long to wait after marking.
#>
param(
    [Parameter(Mandatory)]
    [ValidatePattern('^[a-z0-9-]{1,64}$')]
    [string]$Token,
    [ValidateRange(0, 10000)]
    [int]$Milliseconds = 0,
    [Parameter(Mandatory)]
    [string]$Folder
)
Add-Content -LiteralPath (Join-Path $Folder "mark-$Token") -Value 'ran'
Start-Sleep -Milliseconds $Milliseconds
'marked'
