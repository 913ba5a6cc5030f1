<#
.SYNOPSIS
What PowerShell itself says about the parameters of script files: Get-Command's parameter
metadata and Get-Help's reading of the help. The fidelity test holds Deputy's parser against it.

.DESCRIPTION
Input (stdin, UTF-8 JSON): ["<path of a .ps1>", ...]
Output (stdout, UTF-8 JSON): one entry per path, { path, skipped?, error?, command? }.

Scripts with a dynamicparam block are skipped: Get-Command would run that block to learn its
parameters, and a corpus is read here, never run. Nothing else in a script runs: Get-Command and
Get-Help compile the param() block and read comments.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$utf8 = [System.Text.UTF8Encoding]::new($false)
$reader = [System.IO.StreamReader]::new([Console]::OpenStandardInput(), $utf8)
$paths = ConvertFrom-Json -InputObject $reader.ReadToEnd() -NoEnumerate
$rangeKindProperty = [ValidateRange].GetProperty('RangeKind', [System.Reflection.BindingFlags]'NonPublic, Public, Instance')
$common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters

function Get-TypeName([type] $Type) {
    return [Microsoft.PowerShell.ToStringCodeMethods]::Type($Type).ToLowerInvariant()
}

function Get-Attributes($Parameter) {
    $facts = [ordered]@{}
    foreach ($attribute in $Parameter.Attributes) {
        if ($attribute -is [ValidateSet]) {
            $facts.validateSet = @($attribute.ValidValues)
            $facts.validateSetIgnoreCase = $attribute.IgnoreCase
        }
        elseif ($attribute -is [ValidatePattern]) {
            $facts.pattern = $attribute.RegexPattern
            $facts.patternOptions = [string]$attribute.Options
        }
        elseif ($attribute -is [ValidateRange]) {
            # RangeKind (Positive, NonNegative, …) is not public; PowerShell's own object holds it all the same.
            $kind = $rangeKindProperty.GetValue($attribute)
            $facts.rangeKind = if ($null -ne $kind) { [string]$kind } else { $null }
            $facts.rangeMin = if ($null -ne $attribute.MinRange) { try { [double]$attribute.MinRange } catch { $null } } else { $null }
            $facts.rangeMax = if ($null -ne $attribute.MaxRange) { try { [double]$attribute.MaxRange } catch { $null } } else { $null }
        }
        elseif ($attribute -is [ValidateLength]) { $facts.lengthMin = $attribute.MinLength; $facts.lengthMax = $attribute.MaxLength }
        elseif ($attribute -is [ValidateCount]) { $facts.countMin = $attribute.MinLength; $facts.countMax = $attribute.MaxLength }
        elseif ($attribute -is [AllowEmptyString]) { $facts.allowEmptyString = $true }
    }
    return $facts
}

function Get-Facts([string] $Path) {
    $tokens = $null
    $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref]$tokens, [ref]$errors)
    if ($errors.Count -gt 0) { return [ordered]@{ path = $Path; skipped = 'parse errors' } }
    if ($ast.DynamicParamBlock) { return [ordered]@{ path = $Path; skipped = 'dynamicparam block (Get-Command would run it)' } }
    $command = Get-Command -Name $Path
    # Get-Command reports a script whose parameter types it cannot load with no parameters at all.
    $declared = @(if ($ast.ParamBlock) { $ast.ParamBlock.Parameters })
    $parameters = @(if ($command.Parameters) { $command.Parameters.Values | Where-Object { $_.Name -notin $common } })
    if ($parameters.Count -lt $declared.Count) {
        return [ordered]@{ path = $Path; skipped = 'Get-Command cannot read the parameters (a type it cannot load?)' }
    }
    $help = Get-Help -Name $Path -Full
    $hasHelpBlock = $null -ne $ast.GetHelpContent()
    $helpByName = @{}
    if ($hasHelpBlock -and $help.PSObject.Properties['parameters'] -and $help.parameters -and $help.parameters.PSObject.Properties['parameter']) {
        foreach ($entry in @($help.parameters.parameter)) { $helpByName[$entry.name] = $entry }
    }
    $defaultsByName = @{}
    foreach ($declaration in $declared) {
        $name = $declaration.Name.VariablePath.UserPath
        if (-not $declaration.DefaultValue) { continue }
        # PowerShell folds constant defaults to their value (Get-Help shows it); the others it
        # shows as written. SafeGetValue is PowerShell's own reader of literal arrays.
        $safe = try { @{ value = $declaration.DefaultValue.SafeGetValue() } } catch { $null }
        $defaultsByName[$name] = [ordered]@{
            extent = $declaration.DefaultValue.Extent.Text
            safeValue = if ($safe) { $safe.value } else { $null }
            safe = $null -ne $safe
        }
    }
    $result = [ordered]@{
        path = $Path
        command = [ordered]@{
            synopsis = if ($hasHelpBlock) { [string]$help.Synopsis } else { $null }
            description = if ($hasHelpBlock -and $help.PSObject.Properties['description'] -and $help.description) { (@($help.description | ForEach-Object { $_.Text }) -join "`n") } else { $null }
            parameterSets = @($command.ParameterSets | ForEach-Object {
                    [ordered]@{
                        name = $_.Name
                        isDefault = $_.IsDefault
                        parameters = @($_.Parameters | Where-Object { $_.Name -notin $common } | ForEach-Object { [ordered]@{ name = $_.Name; mandatory = $_.IsMandatory } })
                    }
                })
            parameters = @($parameters | ForEach-Object {
                    $type = $_.ParameterType
                    $element = if ($type.IsArray) { $type.GetElementType() } else { $type }
                    $helpEntry = $helpByName[$_.Name]
                    $description = if ($helpEntry -and $helpEntry.PSObject.Properties['description'] -and $helpEntry.description) { (@($helpEntry.description | ForEach-Object { $_.Text }) -join "`n") } else { $null }
                    [ordered]@{
                        name = $_.Name
                        psType = Get-TypeName $type
                        isArray = $type.IsArray
                        elementType = $element.FullName
                        enumValues = if ($element.IsEnum) { [string[]][enum]::GetNames($element) } else { $null }
                        sets = @($_.ParameterSets.GetEnumerator() | ForEach-Object { [ordered]@{ name = $_.Key; mandatory = $_.Value.IsMandatory; helpMessage = $_.Value.HelpMessage } })
                        attributes = Get-Attributes $_
                        help = $description
                        helpDefault = if ($helpEntry -and $helpEntry.PSObject.Properties['defaultValue']) { [string]$helpEntry.defaultValue } else { $null }
                        declaredDefault = $defaultsByName[$_.Name]
                    }
                })
        }
    }
    return $result
}

$results = foreach ($path in $paths) {
    try { Get-Facts $path }
    catch { [ordered]@{ path = $path; error = $_.Exception.Message } }
}
$json = ConvertTo-Json -InputObject @($results) -Depth 10 -Compress
$stdout = [Console]::OpenStandardOutput()
$bytes = $utf8.GetBytes($json)
$stdout.Write($bytes, 0, $bytes.Length)
$stdout.Flush()
