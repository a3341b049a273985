with

source as (
    select * from {{ source('campaigns', 'ab_tests') }}
),

renamed as (
    select
        cast(ab_test_id as {{ dbt.type_bigint() }}) as ab_test_id,
        test_name,
        cast(campaign_id as {{ dbt.type_bigint() }}) as campaign_id,
        campaign_step,
        variant_a,
        variant_b,
        primary_metric,
        min_sample_per_arm,
        cast(alpha as {{ dbt.type_float() }}) as alpha,
        cast(expected_share_a as {{ dbt.type_float() }}) as expected_share_a,
        start_at,
        end_at,
        source as declaration_source,
        declared_at
    from source
)

select * from renamed
