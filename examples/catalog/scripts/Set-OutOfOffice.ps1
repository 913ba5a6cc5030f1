<#
.SYNOPSIS
Sets or clears a user's out-of-office reply in the demo directory.

.DESCRIPTION
Demo directory: this example works on the demo directory file of the Deputy example catalog,
not on a real mailbox. It turns the automatic reply on (with a message and an optional end
date) or off.

.PARAMETER UserPrincipalName
User. The sign-in name, for example uma.schulz@contoso.example.

.PARAMETER Message
Reply text. What senders get back while the user is away.

.PARAMETER Until
Last day away. Leave empty for no end date.

.PARAMETER Enabled
Reply on. Turn off to remove the out-of-office reply.

.PARAMETER DirectoryPath
Demo directory file. Fixed by the action.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [ValidatePattern('^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$')]
    [string] $UserPrincipalName,

    [ValidateLength(1, 1000)]
    [string] $Message = 'Thank you for your message. I am out of the office and will reply when I am back.',

    [datetime] $Until,

    [bool] $Enabled = $true,

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
$user = Get-DemoUser $directory $UserPrincipalName 'any'
$untilText = if ($PSBoundParameters.ContainsKey('Until')) { $Until.ToString('yyyy-MM-dd') } else { $null }
if ($Enabled -and $null -ne $untilText -and $Until.Date -lt [datetime]::Today) {
    throw "The last day away ($untilText) is in the past."
}
$user.outOfOffice = [ordered]@{
    enabled = $Enabled
    message = if ($Enabled) { $Message } else { '' }
    until   = if ($Enabled) { $untilText } else { $null }
}
Save-DemoDirectory $directory $DirectoryPath

[pscustomobject]@{
    UserPrincipalName = $user.userPrincipalName
    DisplayName       = $user.displayName
    OutOfOffice       = if ($Enabled) { 'on' } else { 'off' }
    Until             = $user.outOfOffice.until
    Message           = $user.outOfOffice.message
    Directory         = 'demo directory (no real mailbox was changed)'
}
