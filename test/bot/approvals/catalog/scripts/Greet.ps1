<#
.SYNOPSIS
Greets someone.
.PARAMETER Who
Whom to greet.
#>
param([Parameter(Mandatory)][string]$Who)
"hello $Who"
