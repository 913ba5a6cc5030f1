<#
.SYNOPSIS
Reads the parameter schema and comment-based help of PowerShell scripts with PowerShell's own parser.

.DESCRIPTION
Input (stdin, UTF-8 JSON): [{ "key": "...", "text": "<script source>" }, ...]
Output (stdout, UTF-8 JSON): [{ "key", "synopsis", "description", "defaultParameterSet", "usesSrxEnv",
"parseErrors": [...], "parameters": [...] }]

The scripts are only parsed, never run: ParseInput builds an AST, and values are read from it by
Get-ConstantValue, which accepts literals and the few constant forms PowerShell itself folds
(static numeric fields such as [int]::MaxValue, unary and arithmetic operators on numbers) and
refuses everything else. Each parameter is reported as plain facts (type, parameter sets,
validation attributes, constant default, help text); parameters.ts turns the facts into form fields.

Help comes from PowerShell's own comment-help reader (the one Get-Help uses), so `.PARAMETER`
sections and comments written next to a parameter inside param() are read exactly as Get-Help
reads them.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$utf8 = [System.Text.UTF8Encoding]::new($false)
$reader = [System.IO.StreamReader]::new([Console]::OpenStandardInput(), $utf8)
# -DateKind String: a script text that looks like a date must stay text.
$requests = ConvertFrom-Json -InputObject $reader.ReadToEnd() -AsHashtable -NoEnumerate -DateKind String

# Attributes a form has no need to express: harmless to the form, or enforced by PowerShell in a way
# an empty form value (not given) never meets.
$NeutralAttributes = @(
    [Parameter], [Alias], [AllowNull], [AllowEmptyString], [AllowEmptyCollection], [ValidateNotNull],
    [ValidateNotNullOrEmpty], [SupportsWildcards], [PSDefaultValue], [System.Management.Automation.CredentialAttribute],
    [ArgumentCompleter], [ValidateSet], [ValidatePattern], [ValidateRange], [ValidateLength], [ValidateCount]
)
$ValidateNotNullOrWhiteSpace = 'System.Management.Automation.ValidateNotNullOrWhiteSpaceAttribute' -as [type]
if ($ValidateNotNullOrWhiteSpace) { $NeutralAttributes += $ValidateNotNullOrWhiteSpace }
# Looked up per attribute of every parameter: a set of names, not a list of types compared one by one.
$NeutralAttributeNames = [System.Collections.Generic.HashSet[string]]::new([string[]]@($NeutralAttributes | ForEach-Object { $_.FullName }))
# Types a chat form cannot fill in.
$UnfillableTypes = @([hashtable], [scriptblock], [System.Collections.IDictionary])
$IntegerTypes = @([int], [long], [short], [byte], [sbyte], [uint16], [uint32], [uint64])
$NumberTypes = $IntegerTypes + @([double], [decimal], [single])

# PowerShell's reader of comment-based help (internal; the one Get-Help uses). Without it the
# `.PARAMETER` sections are still read through the public GetHelpContent(), only comments inside
# param() are then missed, which the corpus test would report.
$helpCommentTokens = [System.Management.Automation.PSObject].Assembly.GetType('System.Management.Automation.HelpCommentsParser').
    GetMethod('GetHelpCommentTokens', [System.Reflection.BindingFlags]'NonPublic, Static')

function Get-TypeClass([type] $Type) {
    # Classifies the element type; arrays are flagged separately.
    if ($Type -eq [switch] -or $Type -eq [bool]) { return 'toggle' }
    if ($Type -in $IntegerTypes) { return 'integer' }
    if ($Type -in [double], [decimal], [single]) { return 'number' }
    if ($Type -eq [datetime] -or $Type -eq [datetimeoffset]) { return 'date' }
    if ($Type -eq [securestring] -or $Type -eq [pscredential]) { return 'secret' }
    return 'text'
}

function New-Constant($Value) { return @{ value = $Value } }

# The value of a constant expression as @{ value = ... }, or $null when it is not one. Nothing
# here runs code: a static member is read only from the public fields of the numeric types.
function Get-ConstantValue($Ast) {
    # Most arguments are literals: answered before the general dispatch.
    if ($Ast -is [System.Management.Automation.Language.ConstantExpressionAst]) { return New-Constant $Ast.Value }
    switch ($Ast.GetType().Name) {
        'ConstantExpressionAst' { return New-Constant $Ast.Value }
        'StringConstantExpressionAst' { return New-Constant $Ast.Value }
        'VariableExpressionAst' {
            switch ($Ast.VariablePath.UserPath) {
                'true' { return New-Constant $true }
                'false' { return New-Constant $false }
                'null' { return New-Constant $null }
            }
            return $null
        }
        'UnaryExpressionAst' {
            if ($Ast.TokenKind -notin 'Minus', 'Plus') { return $null }
            $operand = Get-ConstantValue $Ast.Child
            if ($null -eq $operand -or $operand.value -isnot [ValueType] -or $operand.value.GetType() -notin $NumberTypes) { return $null }
            return New-Constant $(if ($Ast.TokenKind -eq 'Minus') { -$operand.value } else { $operand.value })
        }
        'BinaryExpressionAst' {
            if ($Ast.Operator -notin 'Plus', 'Minus', 'Multiply', 'Divide') { return $null }
            $left = Get-ConstantValue $Ast.Left
            $right = Get-ConstantValue $Ast.Right
            foreach ($side in $left, $right) {
                if ($null -eq $side -or $side.value -isnot [ValueType] -or $side.value.GetType() -notin $NumberTypes) { return $null }
            }
            try {
                switch ($Ast.Operator) {
                    'Plus' { return New-Constant ($left.value + $right.value) }
                    'Minus' { return New-Constant ($left.value - $right.value) }
                    'Multiply' { return New-Constant ($left.value * $right.value) }
                    'Divide' { return New-Constant ($left.value / $right.value) }
                }
            }
            catch { return $null }
        }
        'MemberExpressionAst' {
            if (-not $Ast.Static -or $Ast.Expression -isnot [System.Management.Automation.Language.TypeExpressionAst] -or
                $Ast.Member -isnot [System.Management.Automation.Language.StringConstantExpressionAst]) { return $null }
            $type = $Ast.Expression.TypeName.GetReflectionType()
            if ($null -eq $type -or $type -notin $NumberTypes) { return $null }
            $field = $type.GetField($Ast.Member.Value, [System.Reflection.BindingFlags]'Public, Static, IgnoreCase')
            if ($null -eq $field -or $field.FieldType -notin $NumberTypes -or -not ($field.IsLiteral -or $field.IsInitOnly)) { return $null }
            return New-Constant $field.GetValue($null)
        }
        'ParenExpressionAst' { return Get-ConstantPipeline $Ast.Pipeline }
        'ArrayLiteralAst' { return Get-ConstantList $Ast.Elements }
        'ArrayExpressionAst' {
            $statements = @($Ast.SubExpression.Statements)
            if ($statements.Count -eq 0) { return New-Constant @() }
            if ($statements.Count -ne 1) { return $null }
            $single = Get-ConstantPipeline $statements[0]
            if ($null -eq $single) { return $null }
            return New-Constant @($single.value)
        }
    }
    return $null
}

function Get-ConstantList($Elements) {
    $values = [System.Collections.Generic.List[object]]::new()
    foreach ($element in $Elements) {
        $constant = Get-ConstantValue $element
        if ($null -eq $constant) { return $null }
        $values.Add($constant.value)
    }
    return New-Constant $values.ToArray()
}

function Get-ConstantPipeline($Statement) {
    # `('a', 'b')` and `@('a', 'b')` wrap an expression in a one-element pipeline.
    if ($Statement -isnot [System.Management.Automation.Language.PipelineAst]) { return $null }
    $elements = @($Statement.PipelineElements)
    if ($elements.Count -ne 1 -or $elements[0] -isnot [System.Management.Automation.Language.CommandExpressionAst] -or $elements[0].Redirections.Count -gt 0) {
        return $null
    }
    return Get-ConstantValue $elements[0].Expression
}

# An attribute's positional arguments as values; $null when any is not a constant.
function Get-ArgumentValues($Attribute) {
    $constant = Get-ConstantList $Attribute.PositionalArguments
    if ($null -eq $constant) { return $null }
    return , $constant.value
}

# A named argument (`Mandatory`, `Mandatory = $true`, `IgnoreCase = $false`): @{ value } or $null.
function Get-NamedArgument($Attribute, [string] $Name) {
    foreach ($named in $Attribute.NamedArguments) {
        if ($named.ArgumentName -ne $Name) { continue }
        if ($named.ExpressionOmitted) { return New-Constant $true }
        return Get-ConstantValue $named.Argument
    }
    return $null
}

# Every named argument of an attribute, by name (upper case): @{ value } or $null when not a constant.
function Get-NamedArguments($Attribute) {
    $found = @{}
    foreach ($named in $Attribute.NamedArguments) {
        $found[$named.ArgumentName.ToUpperInvariant()] = if ($named.ExpressionOmitted) { New-Constant $true } else { Get-ConstantValue $named.Argument }
    }
    return $found
}

function Get-ParameterFacts($Parameter, [string] $Help) {
    $name = $Parameter.Name.VariablePath.UserPath
    $type = $Parameter.StaticType
    $isArray = $type.IsArray
    $elementType = if ($isArray) { $type.GetElementType() } else { $type }
    $typeConstraint = $null
    foreach ($attribute in $Parameter.Attributes) {
        if ($attribute -is [System.Management.Automation.Language.TypeConstraintAst]) { $typeConstraint = $attribute; break }
    }
    $psType = if ($type -ne [object]) { [Microsoft.PowerShell.ToStringCodeMethods]::Type($type) }
              elseif ($typeConstraint) { $typeConstraint.TypeName.FullName }
              else { 'object' }

    $unmapped = [System.Collections.Generic.List[string]]::new()
    if ($typeConstraint -and $null -eq $typeConstraint.TypeName.GetReflectionType()) {
        $unmapped.Add("type [$($typeConstraint.TypeName.FullName)] is not loaded here (a module's type?): the form asks for text, which PowerShell converts when the script runs")
    }
    elseif ($elementType -in $UnfillableTypes -or $elementType.IsSubclassOf([System.Collections.IDictionary])) {
        $unmapped.Add("a [$($elementType.Name)] cannot be filled in on a form; set it with fixed: in catalog.yaml")
    }

    $facts = [ordered]@{
        name                  = $name
        psType                = $psType.ToLowerInvariant()
        typeClass             = Get-TypeClass $elementType
        isArray               = $isArray
        enumValues            = $null
        sets                  = @()
        validateSet           = $null
        validateSetIgnoreCase = $true
        pattern               = $null
        patternOptions        = $null
        rangeMin              = $null
        rangeMax              = $null
        rangeKind             = $null
        lengthMin             = $null
        lengthMax             = $null
        countMin              = $null
        countMax              = $null
        allowEmptyString      = $false
        allowNull             = $false
        hasDefault            = $false
        default               = $null
        help                  = $null
        unmapped              = @()
    }
    if ($elementType.IsEnum) { $facts.enumValues = [string[]][enum]::GetNames($elementType) }

    $sets = [System.Collections.Generic.List[object]]::new()
    foreach ($attribute in $Parameter.Attributes) {
        if ($attribute -isnot [System.Management.Automation.Language.AttributeAst]) { continue }
        $attributeType = $attribute.TypeName.GetReflectionType()
        if ($null -eq $attributeType) {
            $unmapped.Add("[$($attribute.TypeName.FullName)] is not an attribute PowerShell knows: it will refuse to run the script")
            continue
        }
        $neutral = $NeutralAttributeNames.Contains($attributeType.FullName)
        if (-not $neutral) {
            $unmapped.Add("[$($attribute.TypeName.Name)] has no form equivalent: PowerShell checks it when the script runs")
        }
        # An argument that is not a constant cannot become part of a form; PowerShell still
        # enforces the attribute when the script runs.
        if ($attributeType -eq [Parameter]) {
            $named = Get-NamedArguments $attribute
            $setName = $named['PARAMETERSETNAME']
            $mandatory = $named['MANDATORY']
            $helpMessage = $named['HELPMESSAGE']
            $sets.Add([ordered]@{
                    name        = if ($setName -and $setName.value) { [string]$setName.value } else { '__AllParameterSets' }
                    mandatory   = [bool]($mandatory -and $mandatory.value)
                    helpMessage = if ($helpMessage -and $null -ne $helpMessage.value) { [string]$helpMessage.value } else { $null }
                })
            continue
        }
        $values = Get-ArgumentValues $attribute
        if ($null -eq $values) {
            if ($neutral) { $unmapped.Add("[$($attribute.TypeName.Name)] has arguments that are not constants: PowerShell checks it when the script runs") }
            continue
        }
        if ($attributeType -eq [ValidateSet]) {
            $facts.validateSet = [string[]]@($values | ForEach-Object { [string]$_ })
            $ignoreCase = Get-NamedArgument $attribute 'IgnoreCase'
            if ($ignoreCase) { $facts.validateSetIgnoreCase = [bool]$ignoreCase.value }
        }
        elseif ($attributeType -eq [ValidatePattern] -and $values.Count -ge 1) {
            $facts.pattern = [string]$values[0]
            $options = Get-NamedArgument $attribute 'Options'
            if ($options) { $facts.patternOptions = [string]$options.value }
        }
        elseif ($attributeType -eq [ValidateRange]) {
            if ($values.Count -eq 2) {
                try { $facts.rangeMin = [double]$values[0]; $facts.rangeMax = [double]$values[1] } catch { $facts.rangeMin = $null; $facts.rangeMax = $null }
            }
            elseif ($values.Count -eq 1) { $facts.rangeKind = [string]$values[0] }
        }
        elseif ($attributeType -eq [ValidateLength] -and $values.Count -eq 2) {
            $facts.lengthMin = [int]$values[0]; $facts.lengthMax = [int]$values[1]
        }
        elseif ($attributeType -eq [ValidateCount] -and $values.Count -eq 2) {
            $facts.countMin = [int]$values[0]; $facts.countMax = [int]$values[1]
        }
        elseif ($attributeType -eq [AllowEmptyString]) { $facts.allowEmptyString = $true }
        elseif ($attributeType -eq [AllowNull]) { $facts.allowNull = $true }
    }
    # No [Parameter()]: the parameter belongs to every set and is optional.
    if ($sets.Count -eq 0) { $sets.Add([ordered]@{ name = '__AllParameterSets'; mandatory = $false; helpMessage = $null }) }
    $facts.sets = $sets.ToArray()

    if ($Parameter.DefaultValue) {
        $constant = Get-ConstantValue $Parameter.DefaultValue
        if ($null -ne $constant) {
            $facts.hasDefault = $true
            $facts.default = $constant.value
        }
    }
    if ($Help) { $facts.help = $Help }
    $facts.unmapped = $unmapped.ToArray()
    return $facts
}

# Parameter help as Get-Help reads it: the `.PARAMETER` section, else the comments around the
# parameter inside param() (those count only when the script has a comment-help block at all).
function Get-ParameterHelp($Ast, $Tokens) {
    $help = @{}
    $parameters = @(if ($Ast.ParamBlock) { $Ast.ParamBlock.Parameters })
    $content = $Ast.GetHelpContent()
    if ($null -eq $content) { return $help }
    $comments = $null
    if ($helpCommentTokens) {
        # The tokens of this very parse, so PowerShell's reader need not parse the script again.
        $cache = [System.Collections.Generic.Dictionary[System.Management.Automation.Language.Ast, System.Management.Automation.Language.Token[]]]::new()
        $cache[$Ast] = $Tokens
        $found = $helpCommentTokens.Invoke($null, @($Ast, $cache))
        if ($found) { $comments = $found.Item2 }
    }
    for ($i = 0; $i -lt $parameters.Count; $i++) {
        $name = $parameters[$i].Name.VariablePath.UserPath
        $key = $name.ToUpperInvariant()
        if ($content.Parameters.ContainsKey($key)) { $help[$name] = $content.Parameters[$key] }
        elseif ($comments -and $i -lt $comments.Count -and $comments[$i]) { $help[$name] = $comments[$i] }
    }
    return $help
}

function Get-DefaultParameterSet($Ast) {
    if (-not $Ast.ParamBlock) { return $null }
    foreach ($attribute in $Ast.ParamBlock.Attributes) {
        if ($attribute.TypeName.GetReflectionType() -ne [CmdletBinding]) { continue }
        $name = Get-NamedArgument $attribute 'DefaultParameterSetName'
        if ($name -and $name.value) { return [string]$name.value }
    }
    return $null
}

function Test-UsesSrxEnv($Tokens) {
    # The tokens, not an AST walk: a script block called per node would cost more than the rest of the parse.
    foreach ($token in $Tokens) {
        if ($token -is [System.Management.Automation.Language.VariableToken] -and $token.Name -eq 'SRXEnv') { return $true }
    }
    return $false
}

$results = foreach ($request in $requests) {
    $tokens = $null
    $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseInput([string]$request.text, [ref]$tokens, [ref]$errors)
    $result = [ordered]@{
        key = $request.key; synopsis = $null; description = $null; defaultParameterSet = $null; usesSrxEnv = $false
        requiredModules = @(); dynamicParameters = $false; parseErrors = @(); parameters = @()
    }
    if ($errors.Count -gt 0) {
        $result.parseErrors = @($errors | ForEach-Object { 'line {0}: {1}' -f $_.Extent.StartLineNumber, $_.Message })
    }
    else {
        $content = $ast.GetHelpContent()
        if ($content) { $result.synopsis = $content.Synopsis; $result.description = $content.Description }
        $result.defaultParameterSet = Get-DefaultParameterSet $ast
        $result.usesSrxEnv = Test-UsesSrxEnv $tokens
        $result.dynamicParameters = $null -ne $ast.DynamicParamBlock
        if ($ast.ScriptRequirements) { $result.requiredModules = @($ast.ScriptRequirements.RequiredModules | ForEach-Object { $_.Name }) }
        if ($ast.ParamBlock) {
            $help = Get-ParameterHelp $ast $tokens
            $result.parameters = @(foreach ($parameter in $ast.ParamBlock.Parameters) { Get-ParameterFacts $parameter $help[$parameter.Name.VariablePath.UserPath] })
        }
    }
    $result
}

$json = ConvertTo-Json -InputObject @($results) -Depth 8 -Compress
$stdout = [Console]::OpenStandardOutput()
$bytes = $utf8.GetBytes($json)
$stdout.Write($bytes, 0, $bytes.Length)
$stdout.Flush()
