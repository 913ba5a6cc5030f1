<#
.SYNOPSIS
Counts from one up, one line per number: output longer than a chat summary shows.
.PARAMETER Upto
The last number.
#>
param(
    [Parameter(Mandatory)]
    [ValidateRange(1, 500)]
    [int]$Upto
)
1..$Upto | ForEach-Object { "line $_" }
