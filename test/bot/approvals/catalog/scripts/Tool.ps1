<#
.SYNOPSIS
A tool under review.
.PARAMETER Target
The machine.
#>
param([Parameter(Mandatory)][string]$Target)
"checking $Target"
