{#-
    Generic test: every non-null value of the column matches `pattern` (a regex in the
    common dialect, see regex_matches). Used for the Barton ID format.
-#}
{% test matches_regex(model, column_name, pattern) %}
    {{ return(adapter.dispatch('test_matches_regex', 'outreach')(model, column_name, pattern)) }}
{% endtest %}

{% macro default__test_matches_regex(model, column_name, pattern) %}
select {{ column_name }}
from {{ model }}
where
    {{ column_name }} is not null
    and not {{ regex_matches(column_name, "'" ~ (pattern | replace("'", "''")) ~ "'") }}
{% endmacro %}
