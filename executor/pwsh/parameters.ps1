<#
.SYNOPSIS
Reads the parameter schema and comment-based help of PowerShell scripts with PowerShell's own parser.

.DESCRIPTION
Input (stdin, UTF-8 JSON): [{ "key": "...", "text": "<script source>" }, ...]
Output (stdout, UTF-8 JSON): [{ "key", "synopsis", "description", "parseErrors": [...], "parameters": [...] }]

The scripts are only parsed, never run: ParseInput builds an AST, and values are read from it
with SafeGetValue, which refuses anything that is not a constant. Each parameter is reported as
plain facts (type class, validation attributes, constant default, help text); parameters.ts
turns the facts into form fields.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$utf8 = [System.Text.UTF8Encoding]::new($false)
$reader = [System.IO.StreamReader]::new([Console]::OpenStandardInput(), $utf8)
# -DateKind String: a script text that looks like a date must stay text.
$requests = ConvertFrom-Json -InputObject $reader.ReadToEnd() -AsHashtable -NoEnumerate -DateKind String

function Get-TypeClass([type] $Type) {
    # Classifies the element type; arrays are flagged separately.
    if ($Type -eq [switch] -or $Type -eq [bool]) { return 'toggle' }
    if ($Type -in [int], [long], [short], [byte], [sbyte], [uint16], [uint32], [uint64]) { return 'integer' }
    if ($Type -in [double], [decimal], [single]) { return 'number' }
    if ($Type -eq [datetime] -or $Type -eq [datetimeoffset]) { return 'date' }
    if ($Type -eq [securestring] -or $Type -eq [pscredential]) { return 'secret' }
    return 'text'
}

function Test-ConstantExpression($Ast) {
    # Only literals count as a prefill: a default computed at run time (Get-Date, $env:...) is not one.
    switch ($Ast.GetType().Name) {
        'ConstantExpressionAst' { return $true }
        'StringConstantExpressionAst' { return $true }
        'VariableExpressionAst' { return $Ast.VariablePath.UserPath -in 'true', 'false' }
        'ArrayLiteralAst' { return @($Ast.Elements | Where-Object { -not (Test-ConstantExpression $_) }).Count -eq 0 }
        'ArrayExpressionAst' {
            $statements = @($Ast.SubExpression.Statements)
            return $statements.Count -eq 0 -or ($statements.Count -eq 1 -and (Test-ConstantPipeline $statements[0]))
        }
        'ParenExpressionAst' { return Test-ConstantPipeline $Ast.Pipeline }
        'UnaryExpressionAst' { return $Ast.TokenKind -in 'Minus', 'Plus' -and (Test-ConstantExpression $Ast.Child) }
    }
    return $false
}

function Test-ConstantPipeline($Statement) {
    # `('a', 'b')` and `@('a', 'b')` wrap an expression in a one-element pipeline.
    if ($Statement -isnot [System.Management.Automation.Language.PipelineAst]) { return $false }
    $elements = @($Statement.PipelineElements)
    return $elements.Count -eq 1 -and $elements[0] -is [System.Management.Automation.Language.CommandExpressionAst] -and
        $elements[0].Redirections.Count -eq 0 -and (Test-ConstantExpression $elements[0].Expression)
}

function Get-ArgumentValues($Attribute) {
    # Callers wrap the result in @(): PowerShell unrolls a one-element array on return.
    return $Attribute.PositionalArguments | ForEach-Object { $_.SafeGetValue() }
}

function Get-ParameterFacts($Parameter, $Help) {
    $name = $Parameter.Name.VariablePath.UserPath
    $type = $Parameter.StaticType
    $isArray = $type.IsArray
    $elementType = if ($isArray) { $type.GetElementType() } else { $type }
    $typeConstraint = @($Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.Language.TypeConstraintAst] }) | Select-Object -First 1
    $psType = if ($type -ne [object]) { [Microsoft.PowerShell.ToStringCodeMethods]::Type($type) }
              elseif ($typeConstraint) { $typeConstraint.TypeName.FullName }
              else { 'object' }

    $facts = [ordered]@{
        name        = $name
        psType      = $psType.ToLowerInvariant()
        typeClass   = Get-TypeClass $elementType
        isArray     = $isArray
        mandatory   = $false
        validateSet = $null
        pattern     = $null
        rangeMin    = $null
        rangeMax    = $null
        rangeKind   = $null
        lengthMin   = $null
        lengthMax   = $null
        hasDefault  = $false
        default     = $null
        help        = $null
    }

    foreach ($attribute in $Parameter.Attributes) {
        if ($attribute -isnot [System.Management.Automation.Language.AttributeAst]) { continue }
        $attributeType = $attribute.TypeName.GetReflectionAttributeType()
        if ($null -eq $attributeType) { continue }
        try {
            if ($attributeType -eq [Parameter]) {
                foreach ($named in $attribute.NamedArguments) {
                    if ($named.ArgumentName -eq 'Mandatory' -and ($named.ExpressionOmitted -or [bool]$named.Argument.SafeGetValue())) {
                        $facts.mandatory = $true
                    }
                }
            }
            elseif ($attributeType -eq [ValidateSet]) {
                $facts.validateSet = @(Get-ArgumentValues $attribute | ForEach-Object { [string]$_ })
            }
            elseif ($attributeType -eq [ValidatePattern]) {
                $facts.pattern = [string]@(Get-ArgumentValues $attribute)[0]
            }
            elseif ($attributeType -eq [ValidateRange]) {
                $values = @(Get-ArgumentValues $attribute)
                if ($values.Count -eq 2) { $facts.rangeMin = [double]$values[0]; $facts.rangeMax = [double]$values[1] }
                elseif ($values.Count -eq 1) { $facts.rangeKind = [string]$values[0] }
            }
            elseif ($attributeType -eq [ValidateLength]) {
                $values = @(Get-ArgumentValues $attribute)
                $facts.lengthMin = [int]$values[0]; $facts.lengthMax = [int]$values[1]
            }
        }
        catch {
            # An attribute argument that is not a constant cannot become part of a form;
            # PowerShell still enforces the attribute when the script runs.
            continue
        }
    }

    if ($Parameter.DefaultValue -and (Test-ConstantExpression $Parameter.DefaultValue)) {
        $facts.hasDefault = $true
        $facts.default = $Parameter.DefaultValue.SafeGetValue()
    }
    if ($Help -and $Help.Parameters.ContainsKey($name.ToUpperInvariant())) {
        $facts.help = $Help.Parameters[$name.ToUpperInvariant()]
    }
    return $facts
}

$results = foreach ($request in $requests) {
    $tokens = $null
    $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseInput([string]$request.text, [ref]$tokens, [ref]$errors)
    $result = [ordered]@{ key = $request.key; synopsis = $null; description = $null; parseErrors = @(); parameters = @() }
    if ($errors.Count -gt 0) {
        $result.parseErrors = @($errors | ForEach-Object { 'line {0}: {1}' -f $_.Extent.StartLineNumber, $_.Message })
    }
    else {
        $help = $ast.GetHelpContent()
        if ($help) { $result.synopsis = $help.Synopsis; $result.description = $help.Description }
        if ($ast.ParamBlock) {
            $result.parameters = @($ast.ParamBlock.Parameters | ForEach-Object { Get-ParameterFacts $_ $help })
        }
    }
    $result
}

$json = ConvertTo-Json -InputObject @($results) -Depth 6 -Compress
$stdout = [Console]::OpenStandardOutput()
$bytes = $utf8.GetBytes($json)
$stdout.Write($bytes, 0, $bytes.Length)
$stdout.Flush()
