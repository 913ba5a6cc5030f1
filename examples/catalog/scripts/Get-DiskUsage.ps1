<#
.SYNOPSIS
Shows how full the disks of the executor host are.

.DESCRIPTION
Lists every mounted file system with its size, used and free space, and flags the ones
that are fuller than the warning threshold. Pseudo file systems (proc, sysfs, tmpfs and
the like) are left out unless asked for.

.PARAMETER WarnAbovePercent
Warn above this percentage. Disks fuller than this are marked "warning".

.PARAMETER IncludeVirtual
Include virtual file systems. Shows tmpfs, overlay and other in-memory mounts as well.

.EXAMPLE
./Get-DiskUsage.ps1 -WarnAbovePercent 90
#>
[CmdletBinding()]
param(
    [ValidateRange(1, 99)]
    [double] $WarnAbovePercent = 85,

    [switch] $IncludeVirtual
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$virtualFormats = 'proc', 'sysfs', 'tmpfs', 'devtmpfs', 'devpts', 'cgroup', 'cgroup2', 'mqueue', 'overlay',
    'securityfs', 'debugfs', 'tracefs', 'pstore', 'bpf', 'configfs', 'fusectl', 'hugetlbfs', 'autofs', 'binfmt_misc', 'nsfs'

foreach ($drive in [System.IO.DriveInfo]::GetDrives()) {
    # A mount that vanished or that this account may not read has no size; skip it quietly.
    try {
        if (-not $drive.IsReady -or $drive.TotalSize -le 0) { continue }
        $format = $drive.DriveFormat
        $size = $drive.TotalSize
        $free = $drive.AvailableFreeSpace
    }
    catch { continue }
    if (-not $IncludeVirtual -and $format -in $virtualFormats) { continue }

    $usedPercent = [math]::Round(100 * ($size - $free) / $size, 1)
    [pscustomobject]@{
        Mount       = $drive.Name
        Format      = $format
        SizeGB      = [math]::Round($size / 1GB, 2)
        UsedGB      = [math]::Round(($size - $free) / 1GB, 2)
        FreeGB      = [math]::Round($free / 1GB, 2)
        UsedPercent = $usedPercent
        Status      = if ($usedPercent -gt $WarnAbovePercent) { 'warning' } else { 'ok' }
    }
}
