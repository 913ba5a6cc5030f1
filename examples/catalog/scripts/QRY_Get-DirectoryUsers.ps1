<#
.SYNOPSIS
Lists the accounts of an office in the demo directory, for drop-downs (a ScriptRunner-style query).

.DESCRIPTION
Demo directory: reads the demo directory file of the Deputy example catalog. Written the way
ScriptRunner's _QUERY_ scripts are: the values go to $SRXEnv.ResultList, what the drop-down
shows to $SRXEnv.ResultList2. Without $SRXEnv (run by hand) it writes the same as text.

.PARAMETER Office
[sr-en] The office whose accounts are listed; any lists every office's.
[sr-de] Das Büro, dessen Konten aufgelistet werden; any listet alle Büros.

.PARAMETER EnabledOnly
[sr-en] Leaves out disabled accounts.
[sr-de] Lässt deaktivierte Konten weg.

.PARAMETER DirectoryPath
Demo directory file. Fixed by the query.
#>
param(
    [Parameter(Mandatory = $true)]
    [ValidateSet('hamburg', 'munich', 'any')]
    [string] $Office,

    [switch] $EnabledOnly,

    [Parameter(Mandatory = $true)]
    [string] $DirectoryPath
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

if (-not (Test-Path -LiteralPath $DirectoryPath -PathType Leaf)) { throw "The demo directory file $DirectoryPath does not exist." }
$directory = ConvertFrom-Json -InputObject (Get-Content -LiteralPath $DirectoryPath -Raw) -AsHashtable
$users = @($directory.users | Where-Object { ($Office -eq 'any' -or $_.office -eq $Office) -and (-not $EnabledOnly -or $_.enabled) } | Sort-Object { $_.displayName })
$srx = Get-Variable -Name SRXEnv -ValueOnly -ErrorAction Ignore
foreach ($user in $users) {
    if ($srx) {
        $null = $srx.ResultList.Add($user.userPrincipalName)
        $null = $srx.ResultList2.Add("$($user.displayName) ($($user.department), $($user.office))")
    }
    else {
        Write-Output "$($user.displayName) <$($user.userPrincipalName)>"
    }
}
