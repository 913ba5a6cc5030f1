<#
.SYNOPSIS
Turns a user's automatic replies on, schedules them, or turns them off, in the demo directory.

.DESCRIPTION
Demo directory: this example works on the demo directory file of the Deputy example catalog,
not on a real mailbox. It is written the way ScriptRunner scripts are: three parameter sets
(one per way of running it), help in English and German, and its result in $SRXEnv.

.PARAMETER UserPrincipalName
[sr-en] User. The sign-in name of the mailbox owner.
[sr-de] Benutzer. Der Anmeldename des Postfachinhabers.

.PARAMETER Message
[sr-en] Reply text. What senders get back while the user is away.
[sr-de] Antworttext. Was Absender zurückbekommen, solange der Benutzer abwesend ist.

.PARAMETER StartDate
[sr-en] First day away.
[sr-de] Erster Tag der Abwesenheit.

.PARAMETER EndDate
[sr-en] Last day away.
[sr-de] Letzter Tag der Abwesenheit.

.PARAMETER TurnOff
[sr-en] Turn the automatic replies off.
[sr-de] Automatische Antworten ausschalten.

.PARAMETER DirectoryPath
Demo directory file. Fixed by the action.
#>
[CmdletBinding(DefaultParameterSetName = 'Turn on now')]
param(
    [Parameter(Mandatory = $true, ParameterSetName = 'Turn on now')]
    [Parameter(Mandatory = $true, ParameterSetName = 'Schedule')]
    [Parameter(Mandatory = $true, ParameterSetName = 'Turn off')]
    [ValidatePattern('^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$')]
    [string] $UserPrincipalName,

    [Parameter(Mandatory = $true, ParameterSetName = 'Turn on now', HelpMessage = 'ASRDisplay(Multiline)')]
    [Parameter(Mandatory = $true, ParameterSetName = 'Schedule', HelpMessage = 'ASRDisplay(Multiline)')]
    [ValidateLength(1, 1000)]
    [string] $Message,

    [Parameter(Mandatory = $true, ParameterSetName = 'Schedule')]
    [datetime] $StartDate,

    [Parameter(Mandatory = $true, ParameterSetName = 'Schedule')]
    [datetime] $EndDate,

    [Parameter(Mandatory = $true, ParameterSetName = 'Turn off')]
    [switch] $TurnOff,

    [Parameter(Mandatory = $true)]
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
# --- end of demo directory helpers ---

$directory = Read-DemoDirectory $DirectoryPath
$user = @($directory.users | Where-Object { $_.userPrincipalName -eq $UserPrincipalName }) | Select-Object -First 1
if ($null -eq $user) { throw "There is no user $UserPrincipalName in the demo directory." }

switch ($PSCmdlet.ParameterSetName) {
    'Turn off' {
        $user.outOfOffice = [ordered]@{ enabled = $false; message = ''; until = $null }
        $result = "Automatic replies of $($user.displayName) are off."
    }
    'Turn on now' {
        $user.outOfOffice = [ordered]@{ enabled = $true; message = $Message; until = $null }
        $result = "Automatic replies of $($user.displayName) are on."
    }
    'Schedule' {
        if ($EndDate.Date -lt $StartDate.Date) { throw 'The last day away is before the first.' }
        $user.outOfOffice = [ordered]@{ enabled = $true; message = $Message; from = $StartDate.ToString('yyyy-MM-dd'); until = $EndDate.ToString('yyyy-MM-dd') }
        $result = "Automatic replies of $($user.displayName) from $($StartDate.ToString('yyyy-MM-dd')) to $($EndDate.ToString('yyyy-MM-dd'))."
    }
}
Save-DemoDirectory $directory $DirectoryPath

# Run by Deputy (or ScriptRunner) the result goes to $SRXEnv; run by hand, to the output.
$srx = Get-Variable -Name SRXEnv -ValueOnly -ErrorAction Ignore
if ($srx) {
    $srx.ResultMessage = "$result (demo directory; asked by $($srx.SRXStartedBy))"
    $encoded = [System.Net.WebUtility]::HtmlEncode($user.outOfOffice.message)
    $srx.ResultHtml = "<h1>Automatic replies</h1><p>$([System.Net.WebUtility]::HtmlEncode($result))</p><blockquote>$encoded</blockquote>"
}
else {
    $result
}
