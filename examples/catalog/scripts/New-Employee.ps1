<#
.SYNOPSIS
Onboards a new employee into the demo directory.

.DESCRIPTION
Demo directory: this example works on the demo directory file of the Deputy example catalog,
not on a real directory. Creates the account (sign-in name from the name, made unique),
adds it to the office's and the chosen groups, assigns a licence and records the manager.
The initial password is generated, stored only as a hash and handed to the manager.

.PARAMETER GivenName
Given name. As it should appear in the address book.

.PARAMETER Surname
Surname. As it should appear in the address book.

.PARAMETER Department
Department.

.PARAMETER StartDate
First working day. The account is created now and shown from this day on.

.PARAMETER Groups
Extra groups. Comma- or line-separated group names, for example sales, project-apollo.

.PARAMETER Licence
Licence. The Microsoft 365 licence to assign.

.PARAMETER Manager
Manager. The manager's sign-in name; they receive the initial password.

.PARAMETER Office
Office. Fixed by the action to the site it serves.

.PARAMETER DirectoryPath
Demo directory file. Fixed by the action.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [ValidateLength(1, 64)]
    [ValidatePattern("^[\p{L}][\p{L}' -]*$")]
    [string] $GivenName,

    [Parameter(Mandatory)]
    [ValidateLength(1, 64)]
    [ValidatePattern("^[\p{L}][\p{L}' -]*$")]
    [string] $Surname,

    [Parameter(Mandatory)]
    [ValidateSet('Sales', 'Finance', 'IT', 'Engineering', 'Marketing', 'HR')]
    [string] $Department,

    [Parameter(Mandatory)]
    [datetime] $StartDate,

    [ValidatePattern('^[a-z0-9][a-z0-9-]{1,40}$')]
    [string[]] $Groups = @(),

    [ValidateSet('M365_E3', 'M365_E5', 'M365_BUSINESS_PREMIUM', 'EXCHANGE_ONLINE_PLAN1')]
    [string] $Licence = 'M365_E3',

    [ValidatePattern('^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$')]
    [string] $Manager,

    [Parameter(Mandatory)]
    [ValidateSet('hamburg', 'munich')]
    [string] $Office,

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

function ConvertTo-MailName([string] $Name) {
    # Jürgen O'Brien-Groß -> juergen.obrien-gross: German transliteration, then plain ASCII letters.
    $text = $Name.ToLowerInvariant().Replace('ä', 'ae').Replace('ö', 'oe').Replace('ü', 'ue').Replace('ß', 'ss')
    $plain = -join ($text.Normalize([Text.NormalizationForm]::FormD).ToCharArray() |
        Where-Object { [Globalization.CharUnicodeInfo]::GetUnicodeCategory($_) -ne 'NonSpacingMark' })
    ($plain -replace "[^a-z0-9 -]", '' -replace '\s+', '-').Trim('-')
}

$directory = Read-DemoDirectory $DirectoryPath
if ($PSBoundParameters.ContainsKey('Manager')) { $null = Get-DemoUser $directory $Manager 'any' }
if ($StartDate.Date -lt [datetime]::Today.AddDays(-30)) { throw 'The first working day lies more than 30 days in the past.' }

$base = '{0}.{1}' -f (ConvertTo-MailName $GivenName), (ConvertTo-MailName $Surname)
$upn = "$base@$($directory.domain)"
for ($n = 2; @($directory.users | Where-Object { $_.userPrincipalName -eq $upn }).Count -gt 0; $n++) {
    $upn = "$base$n@$($directory.domain)"
}

$plan = @($directory.skus | Where-Object { $_.sku -eq $Licence }) | Select-Object -First 1
$inUse = @($directory.users | Where-Object { @($_.licences) -contains $Licence }).Count
$licences = @(if ($null -ne $plan -and $inUse -lt $plan.seats) { $Licence })
$allGroups = @(@("all-$Office", $Department.ToLowerInvariant()) + $Groups | Select-Object -Unique)

$user = [ordered]@{
    userPrincipalName = $upn
    displayName       = "$GivenName $Surname"
    givenName         = $GivenName
    surname           = $Surname
    office            = $Office
    department        = $Department
    manager           = if ($Manager) { $Manager.ToLowerInvariant() } else { $null }
    enabled           = $true
    startDate         = $StartDate.ToString('yyyy-MM-dd')
    licences          = $licences
    groups            = $allGroups
    outOfOffice       = [ordered]@{ enabled = $false; message = ''; until = $null }
    forwardTo         = $null
    password          = [ordered]@{ lastSet = [datetime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ'); hash = 'initial (handed to the manager)'; mustChange = $true }
}
$directory.users = @($directory.users) + $user
Save-DemoDirectory $directory $DirectoryPath

if ($licences.Count -eq 0) { Write-Warning "No free $Licence seat: the account has no licence yet." }
[pscustomobject]@{
    UserPrincipalName = $upn
    DisplayName       = $user.displayName
    Office            = $Office
    Department        = $Department
    StartDate         = $user.startDate
    Groups            = $allGroups -join ', '
    Licences          = $licences -join ', '
    InitialPassword   = if ($user.manager) { "handed to $($user.manager) (demo: not actually sent)" } else { 'to be handed over in person' }
    Directory         = 'demo directory (no real account was created)'
}
