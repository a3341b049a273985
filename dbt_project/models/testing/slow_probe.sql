{#-
    Test-only: a deliberately slow model for tests/test_statement_timeout.py (a build that
    is killed, a statement that outlives the timeout). Disabled unless the environment
    variable OUTREACH_TEST_SLOW_PROBE_SECONDS is set; OUTREACH_TEST_SLOW_PROBE_TIMEOUT
    raises its statement_timeout the way a model that legitimately needs longer does.
    Environment variables, not --vars: dbt re-parses only this file when they change,
    while new --vars make it re-parse the whole project.
-#}
{{
    config(
        enabled=env_var('OUTREACH_TEST_SLOW_PROBE_SECONDS', '') != '',
        materialized='table',
        pre_hook="{{ statement_timeout(env_var('OUTREACH_TEST_SLOW_PROBE_TIMEOUT', '') or none) }}",
    )
}}

with

slept as (
    select pg_sleep({{ env_var('OUTREACH_TEST_SLOW_PROBE_SECONDS', '0') or 0 }}) as nothing
),

final as (
    select 1 as probe_id
    from slept
)

select * from final
