with

source as (
    select * from {{ source('intake', 'deals') }}
),

renamed as (
    select
        _row_key as row_key,
        _source_file as source_file,
        cast(_row_number as {{ dbt.type_bigint() }}) as source_row_number,
        _loaded_at as loaded_at,
        {{ normalize_whitespace('deal_id') }} as deal_id,
        cast(contact_id as {{ dbt.type_bigint() }}) as contact_id_given,
        {{ normalize_email(within_intake_limit('contact_email')) }} as contact_email,
        {{ normalize_whitespace('company_name') }} as company_name,
        cast(amount as {{ dbt.type_numeric() }}) as amount,
        upper(currency) as currency,
        lower({{ normalize_whitespace('stage') }}) as stage,  -- noqa: RF04
        case
            when lower(closed_won) in ('true', 'yes', '1', 'won') then true
            when lower(closed_won) in ('false', 'no', '0', 'lost') then false
        end as closed_won_given,
        {{ iso_timestamp_utc('closed_at') }} as closed_at,
        _extra as extra
    from source
),

final as (
    select
        row_key,
        source_file,
        source_row_number,
        loaded_at,
        deal_id,
        contact_id_given,
        contact_email,
        company_name,
        amount,
        currency,
        stage,
        closed_at,
        extra,
        -- the closed_won flag when given, else a won stage name
        coalesce(
            closed_won_given,
            stage in ('closed_won', 'closed won', 'closedwon', 'won'),
            false
        ) as is_won
    from renamed
)

select * from final
