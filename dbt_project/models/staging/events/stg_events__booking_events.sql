with

source as (
    select * from {{ source('events', 'booking_events') }}
),

renamed as (
    select
        event_key,
        cast(booking_seq as {{ dbt.type_bigint() }}) as booking_seq,
        source as booking_source,
        event_type,
        email,
        occurred_at,
        scheduled_start,
        rescheduled,
        {{ json_path_text('payload', ['payload', 'uri']) }} as invitee_uri,
        {{ json_path_text('payload', ['payload', 'tracking', 'utm_campaign']) }} as campaign_ref,
        received_at
    from source
)

select * from renamed
