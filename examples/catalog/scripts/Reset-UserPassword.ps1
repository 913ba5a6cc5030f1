<#
.SYNOPSIS
Resets a user's password in the demo directory.

.DESCRIPTION
Demo directory: this example works on the demo directory file of the Deputy example catalog,
not on a real account. Sets the password you give, or generates a strong one and hands it to
the user's manager. The password is never shown in the output and only its salted hash is
stored.

.PARAMETER UserPrincipalName
User. The sign-in name of an account of the action's office, for example lena.hoffmann@contoso.example in Hamburg or sophie.maier@contoso.example in Munich.

.PARAMETER NewPassword
New password. Leave empty to generate one; at least 12 characters with three of upper case, lower case, digits and symbols.

.PARAMETER MustChangeAtNextSignIn
Change at next sign-in. The user has to choose a new password when signing in.

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

    [securestring] $NewPassword,

    [bool] $MustChangeAtNextSignIn = $true,

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

function Get-PasswordClassCount([string] $Password) {
    @('[A-Z]', '[a-z]', '[0-9]', '[^A-Za-z0-9]' | Where-Object { $Password -cmatch $_ }).Count
}

function New-Password {
    # 20 characters from an alphabet without look-alikes, drawn with a cryptographic generator.
    # About one draw in five lacks a class by chance; drawing again (rather than forcing a
    # character of each class in) keeps every acceptable password equally likely.
    $alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%+=?'
    do {
        $password = -join (1..20 | ForEach-Object { $alphabet[[System.Security.Cryptography.RandomNumberGenerator]::GetInt32($alphabet.Length)] })
    } while ((Get-PasswordClassCount $password) -lt 4)
    $password
}

function Get-PasswordHash([string] $Password) {
    $salt = [System.Security.Cryptography.RandomNumberGenerator]::GetBytes(16)
    $bytes = $salt + [System.Text.Encoding]::UTF8.GetBytes($Password)
    'sha256:{0}:{1}' -f [Convert]::ToHexString($salt), [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData([byte[]]$bytes))
}

$directory = Read-DemoDirectory $DirectoryPath
$user = Get-DemoUser $directory $UserPrincipalName $Office
if (-not $user.enabled) { throw "$UserPrincipalName is disabled; enable the account before resetting its password." }

$generated = -not $PSBoundParameters.ContainsKey('NewPassword')
$plain = if ($generated) { New-Password } else { [System.Net.NetworkCredential]::new('', $NewPassword).Password }
$classes = Get-PasswordClassCount $plain
if ($plain.Length -lt 12 -or $classes -lt 3) {
    # Say why, never what: the password itself stays out of every stream.
    throw 'The new password is too weak: use at least 12 characters with three of upper case, lower case, digits and symbols.'
}

$user.password = [ordered]@{
    lastSet    = [datetime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ')
    hash       = Get-PasswordHash $plain
    mustChange = $MustChangeAtNextSignIn
}
Save-DemoDirectory $directory $DirectoryPath
$plain = $null

[pscustomobject]@{
    UserPrincipalName      = $user.userPrincipalName
    PasswordReset          = $true
    Generated              = $generated
    DeliveredTo            = if ($generated) { if ($user.manager) { "$($user.manager) (demo: not actually sent)" } else { 'the user in person (no manager on record)' } } else { 'the requester, who chose it' }
    MustChangeAtNextSignIn = $MustChangeAtNextSignIn
    Directory              = 'demo directory (no real account was changed)'
}
