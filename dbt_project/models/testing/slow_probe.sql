{#-
    Test-only: a deliberately slow model for tests/test_statement_timeout.py (a build that
    is killed, a statement that outlives the timeout). Disabled unless the var
    `slow_probe_seconds` is set; `slow_probe_timeout` raises its statement_timeout the way
    a model that legitimately needs longer does.
-#}
{{
    config(
        enabled=var('slow_probe_seconds', none) is not none,
        materialized='table',
        pre_hook="{{ statement_timeout(var('slow_probe_timeout', none)) }}",
    )
}}

with

slept as (
    select pg_sleep({{ var('slow_probe_seconds', 0) }}) as nothing
),

final as (
    select 1 as probe_id
    from slept
)

select * from final
