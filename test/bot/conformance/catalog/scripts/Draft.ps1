<#
.SYNOPSIS
A script still in Draft: nobody may run it.
#>
param()
'draft'
