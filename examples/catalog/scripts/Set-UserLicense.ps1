<#
.SYNOPSIS
Assigns or removes Microsoft 365 licences for a user in the demo directory.

.DESCRIPTION
Demo directory: this example works on the demo directory file of the Deputy example catalog,
not on a real tenant. Checks that a free seat exists for every licence it assigns.

.PARAMETER UserPrincipalName
User. The sign-in name, for example uma.schulz@contoso.example.

.PARAMETER Sku
Licences. One or more licence SKUs.

.PARAMETER Remove
Remove instead of assign. Takes the chosen licences away from the user.

.PARAMETER Office
Office whose accounts this action may change. Fixed by the action.

.PARAMETER DirectoryPath
Demo directory file. Fixed by the action.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [ValidatePattern('^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$')]
    [string] $UserPrincipalName,

    [Parameter(Mandatory)]
    [ValidateSet('M365_E3', 'M365_E5', 'M365_BUSINESS_PREMIUM', 'EXCHANGE_ONLINE_PLAN1', 'VISIO_PLAN2')]
    [string[]] $Sku,

    [switch] $Remove,

    [ValidateSet('hamburg', 'munich', 'any')]
    [string] $Office = 'any',

    [Parameter(Mandatory)]
    [string] $DirectoryPath
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# --- demo directory helpers (each example script carries its own copy: a script runs as one text) ---
function Read-DemoDirectory([string] $Path) {
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { throw "The demo directory file $Path does not exist." }
    ConvertFrom-Json -InputObject (Get-Content -LiteralPath $Path -Raw) -AsHashtable
}

function Save-DemoDirectory($Directory, [string] $Path) {
    # Write beside the file and rename over it, so no reader ever sees half a file.
    $temp = '{0}.{1}.tmp' -f $Path, [guid]::NewGuid().ToString('n')
    Set-Content -LiteralPath $temp -Value (ConvertTo-Json -InputObject $Directory -Depth 10) -Encoding utf8NoBOM
    Move-Item -LiteralPath $temp -Destination $Path -Force
}

function Get-DemoUser($Directory, [string] $UserPrincipalName, [string] $Office) {
    $user = @($Directory.users | Where-Object { $_.userPrincipalName -eq $UserPrincipalName }) | Select-Object -First 1
    if ($null -eq $user) { throw "There is no user $UserPrincipalName in the demo directory." }
    if ($Office -ne 'any' -and $user.office -ne $Office) {
        throw "$UserPrincipalName works in the $($user.office) office; this action changes $Office accounts only."
    }
    $user
}
# --- end of demo directory helpers ---

$directory = Read-DemoDirectory $DirectoryPath
$user = Get-DemoUser $directory $UserPrincipalName $Office
$current = [System.Collections.Generic.List[string]]::new([string[]]@($user.licences))
$changed = [System.Collections.Generic.List[string]]::new()

foreach ($name in $Sku | Select-Object -Unique) {
    if ($Remove) {
        if ($current.Remove($name)) { $changed.Add($name) }
        continue
    }
    if ($current.Contains($name)) { continue }
    $plan = @($directory.skus | Where-Object { $_.sku -eq $name }) | Select-Object -First 1
    $inUse = @($directory.users | Where-Object { @($_.licences) -contains $name }).Count
    if ($null -eq $plan -or $inUse -ge $plan.seats) {
        throw "No free $name seat is left in the demo directory ($inUse in use)."
    }
    $current.Add($name)
    $changed.Add($name)
}
$user.licences = $current.ToArray()
Save-DemoDirectory $directory $DirectoryPath

[pscustomobject]@{
    UserPrincipalName = $user.userPrincipalName
    Action            = if ($Remove) { 'removed' } else { 'assigned' }
    Changed           = $changed -join ', '
    Licences          = $user.licences -join ', '
    Directory         = 'demo directory (no real licence was changed)'
}
