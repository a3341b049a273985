{#-
    dbt's `where` config of data tests (dbt/include/.../where_subquery.sql), plus two
    placeholders. `__last_build__` (in a where condition) stands for the rows the last build
    added to an append-only model with recorded_at (int_person_observations). And `where: __new_datasets__` tests only the Apify datasets this build folds
    in - those loaded after int_profile_url_check_states' watermark (the datasets no build
    has taken in yet; in `dbt build` a staging view's tests run before that model is
    built) - and the latest dataset (so a lone `dbt test` still tests one). Raw items are
    append-only and staging is a function of each dataset's rows alone, so a dataset that
    passed once passes again until the staging SQL changes: then run the tests with
    `--vars '{test_all_history: true}'` (also used when the states table does not exist
    yet, i.e. the first build). The filter is on dataset_id through in_subquery, so it reaches the
    raw table through the staging views' windows (partitioned by dataset): the tests of
    a month's build read that month's dataset, not the history (issue 18).
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') or '' -%}
    {%- if where == '__new_datasets__' -%}
        {%- set where = new_datasets_filter() -%}
    {%- elif '__last_build__' in where -%}
        {%- set where = where | replace('__last_build__', last_build_filter(relation)) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}

{#- the rows the last build added to an append-only model with a recorded_at column (the
    build's start): rows are never rewritten, so a row that passed once passes again -#}
{% macro last_build_filter(relation) -%}
    {%- if var('test_all_history', false) -%}
        {{ return('true') }}
    {%- endif -%}
    {{ return('recorded_at = (select max(built.recorded_at) from ' ~ relation ~ ' as built)') }}
{%- endmacro %}

{% macro new_datasets_filter() -%}
    {%- if var('test_all_history', false) or not execute -%}
        {{ return('') }}
    {%- endif -%}
    {#- looked up, not ref()'d: a ref would make the staging tests wait for the model that
        reads the staging views (built after their tests in `dbt build`) -#}
    {%- set states = adapter.get_relation(
        target.database, generate_schema_name('intermediate', none), 'int_profile_url_check_states') -%}
    {%- if states is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set items = source('apify', 'profile_items') -%}
    {%- set new_datasets -%}
        select items.dataset_id from {{ items }} as items
        where items.loaded_at > (
            select coalesce(max(built.loaded_at), cast('-infinity' as {{ type_timestamptz() }}))
            from {{ states }} as built
        )
        union
        select latest.dataset_id from (
            select items.dataset_id from {{ items }} as items order by items.loaded_at desc limit 1
        ) as latest
    {%- endset -%}
    {{ return(in_subquery('dataset_id', new_datasets)) }}
{%- endmacro %}
