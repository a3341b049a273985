with

source as (
    select * from {{ source('campaigns', 'messages') }}
),

renamed as (
    select
        cast(message_id as {{ dbt.type_bigint() }}) as message_id,
        cast(campaign_id as {{ dbt.type_bigint() }}) as campaign_id,
        cast(contact_id as {{ dbt.type_bigint() }}) as contact_id,
        {{ normalize_email('email') }} as email,
        direction,
        channel,
        subject,
        body,
        provider_message_id,
        sent_at,
        source as message_source,
        recorded_at
    from source
)

select * from renamed
