-- Email events with the fields both providers carry pulled out of the payload: the
-- campaign, step and variant (SendGrid custom args campaign_id, step, variant; SES message
-- tags of the same names), the user agent
-- of opens and clicks, the provider's machine-open flag, the bounce kind, the clicked URL.
with

source as (
    select * from {{ source('events', 'email_events') }}
),

renamed as (
    select
        event_key,
        provider,
        event_type as provider_event_type,
        email,
        occurred_at,
        message_id as provider_message_id,
        case provider
            when 'sendgrid' then {{ json_text('payload', 'campaign_id') }}
            else {{ json_path_text('payload', ['mail', 'tags', 'campaign_id', '0']) }}
        end as campaign_ref,
        -- the sequence step and A/B variant of the send: custom args (SendGrid) or message
        -- tags (SES) named step and variant, as the campaign_id is carried
        case provider
            when 'sendgrid' then {{ json_text('payload', 'step') }}
            else {{ json_path_text('payload', ['mail', 'tags', 'step', '0']) }}
        end as step_ref,
        case provider
            when 'sendgrid' then {{ json_text('payload', 'variant') }}
            else {{ json_path_text('payload', ['mail', 'tags', 'variant', '0']) }}
        end as variant_ref,
        case provider
            when 'sendgrid' then {{ json_text('payload', 'useragent') }}
            else coalesce(
                {{ json_path_text('payload', ['open', 'userAgent']) }},
                {{ json_path_text('payload', ['click', 'userAgent']) }}
            )
        end as user_agent,
        case provider
            when 'sendgrid'
                then coalesce(lower({{ json_text('payload', 'sg_machine_open') }}) = 'true', false)
            else false
        end as provider_machine_open,
        case provider
            when 'sendgrid' then {{ json_text('payload', 'type') }}
            else {{ json_path_text('payload', ['bounce', 'bounceType']) }}
        end as bounce_type,
        case provider
            when 'sendgrid' then {{ json_text('payload', 'url') }}
            else {{ json_path_text('payload', ['click', 'link']) }}
        end as clicked_url,
        received_at
    from source
)

select * from renamed
