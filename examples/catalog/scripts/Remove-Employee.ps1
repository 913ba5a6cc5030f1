<#
.SYNOPSIS
Offboards an employee in the demo directory.

.DESCRIPTION
Demo directory: this example works on the demo directory file of the Deputy example catalog,
not on a real directory. Disables the account, removes it from every group, frees its
licences, sets an automatic reply and, if asked, forwards its mail. Sensitive: a second
person approves each run.

.PARAMETER UserPrincipalName
User leaving. The sign-in name, for example lena.hoffmann@contoso.example.

.PARAMETER LastWorkingDay
Last working day. Leave empty for today.

.PARAMETER ForwardMailTo
Forward mail to. Sign-in name of the colleague who takes over; leave empty for no forwarding.

.PARAMETER RemoveLicences
Free the licences. Returns the user's licences to the pool.

.PARAMETER AutoReply
Automatic reply. Sent to everyone who writes to the old address.

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

    [datetime] $LastWorkingDay = [datetime]::Today,

    [ValidatePattern('^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$')]
    [string] $ForwardMailTo,

    [bool] $RemoveLicences = $true,

    [ValidateLength(1, 1000)]
    [string] $AutoReply = 'This person no longer works at Contoso. Please contact the team instead.',

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
if (-not $user.enabled) { throw "$UserPrincipalName is already offboarded." }
if ($PSBoundParameters.ContainsKey('ForwardMailTo')) {
    if ($ForwardMailTo -eq $UserPrincipalName) { throw 'Mail cannot be forwarded to the account that is being offboarded.' }
    $colleague = Get-DemoUser $directory $ForwardMailTo 'any'
    if (-not $colleague.enabled) { throw "$ForwardMailTo is disabled and cannot receive forwarded mail." }
}

$removedGroups = @($user.groups)
$freedLicences = @(if ($RemoveLicences) { $user.licences })
$user.enabled = $false
$user.groups = @()
if ($RemoveLicences) { $user.licences = @() }
$user.outOfOffice = [ordered]@{ enabled = $true; message = $AutoReply; until = $null }
$user.forwardTo = if ($PSBoundParameters.ContainsKey('ForwardMailTo')) { $ForwardMailTo.ToLowerInvariant() } else { $null }
$user.leftOn = $LastWorkingDay.ToString('yyyy-MM-dd')
Save-DemoDirectory $directory $DirectoryPath

[pscustomobject]@{
    UserPrincipalName = $user.userPrincipalName
    Disabled          = $true
    LastWorkingDay    = $user.leftOn
    GroupsRemoved     = $removedGroups -join ', '
    LicencesFreed     = $freedLicences -join ', '
    ForwardingTo      = $user.forwardTo
    AutoReply         = 'on'
    Directory         = 'demo directory (no real account was changed)'
}
