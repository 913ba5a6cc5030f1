<#
.SYNOPSIS
Checks whether a TCP port answers, from the executor host.

.DESCRIPTION
Opens a TCP connection to the host and port and reports whether it was accepted, how long
it took, or why it failed. Gives up after the timeout. The host must be a plain host name
or IPv4 address; no URLs, no spaces.

.PARAMETER ComputerName
Host. A host name such as mail.contoso.example or an IPv4 address.

.PARAMETER Port
Port. A TCP port between 1 and 65535.

.PARAMETER TimeoutMilliseconds
Timeout in milliseconds. How long to wait for an answer.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [ValidateLength(1, 253)]
    [ValidatePattern('^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$')]
    [string] $ComputerName,

    [Parameter(Mandatory)]
    [ValidateRange(1, 65535)]
    [int] $Port,

    [ValidateRange(100, 10000)]
    [int] $TimeoutMilliseconds = 2000
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$client = [System.Net.Sockets.TcpClient]::new()
$watch = [System.Diagnostics.Stopwatch]::StartNew()
$open = $false
$detail = $null
try {
    $connect = $client.ConnectAsync($ComputerName, $Port)
    if ($connect.Wait($TimeoutMilliseconds)) {
        $open = $client.Connected
        $detail = 'connection accepted'
    }
    else {
        $detail = "no answer within $TimeoutMilliseconds ms"
    }
}
catch {
    # ConnectAsync wraps the socket error; the innermost message says what happened (refused, unknown host).
    $inner = $_.Exception
    while ($inner.InnerException) { $inner = $inner.InnerException }
    $detail = $inner.Message
}
finally {
    $watch.Stop()
    $client.Dispose()
}

[pscustomobject]@{
    ComputerName = $ComputerName
    Port         = $Port
    Open         = $open
    Milliseconds = [math]::Round($watch.Elapsed.TotalMilliseconds)
    Detail       = $detail
}
