{#-
    A select-list fragment, one line per column: `pattern` with {c} replaced by the column
    name and {t} by its type from `types` (if given), joined with commas at `indent` spaces.
    Keeps generated lists out of `{% for %}` loops with trailing-comma logic, which also
    keeps sqlfluff's layout rules happy.

        {{ column_list('lag({c}) over w as previous_{c}', ['title', 'employer']) }}
-#}
{%- macro column_list(pattern, columns, types=none, indent=8) -%}
    {%- set lines = [] -%}
    {%- for column in columns -%}
        {%- set line = pattern | replace('{c}', column) -%}
        {%- if types is not none -%}
            {%- set line = line | replace('{t}', types[column]) -%}
        {%- endif -%}
        {%- do lines.append(line) -%}
    {%- endfor -%}
    {{- lines | join(',\n' ~ (' ' * indent)) -}}
{%- endmacro -%}
