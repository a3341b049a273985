with

source as (
    select * from {{ source('millionverifier', 'verification_runs') }}
),

renamed as (
    select
        run_id,
        status,
        method as check_method,
        emails_source,
        emails_requested,
        emails_answered,
        emails_unanswered,
        emails_not_attempted,
        concurrency,
        credits_left,
        bulk_file_id,
        error_message,
        metadata,
        started_at,
        finished_at,
        updated_at
    from source
)

select * from renamed
