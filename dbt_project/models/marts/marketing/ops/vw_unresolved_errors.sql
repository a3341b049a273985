{{ config(materialized='view') }}

with

errors as (
    select * from {{ ref('stg_ops__pipeline_errors') }}
),

as_of as (
    select {{ as_of_timestamp() }} as evaluated_at
),

final as (
    select
        errors.error_id,
        errors.event_id,
        errors.event_type,
        errors.record_id,
        errors.error_message,
        errors.severity,
        errors.created_at,
        cast(
            {{ seconds_between('errors.created_at', 'as_of.evaluated_at') }} / 3600.0
            as {{ dbt.type_numeric() }}
        ) as age_hours
    from errors
    cross join as_of
    where not errors.resolved
)

select * from final
