<#
.SYNOPSIS
Lists the offices of the demo directory, for drop-downs (a query: objects with Value and Title).

.PARAMETER DirectoryPath
Demo directory file. Fixed by the query.
#>
param(
    [Parameter(Mandatory)]
    [string] $DirectoryPath
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

if (-not (Test-Path -LiteralPath $DirectoryPath -PathType Leaf)) { throw "The demo directory file $DirectoryPath does not exist." }
$directory = ConvertFrom-Json -InputObject (Get-Content -LiteralPath $DirectoryPath -Raw) -AsHashtable
$directory.users | Group-Object { $_.office } | Sort-Object Name | ForEach-Object {
    [pscustomobject]@{ Value = $_.Name; Title = '{0} ({1} accounts)' -f (Get-Culture).TextInfo.ToTitleCase($_.Name), $_.Count }
}
