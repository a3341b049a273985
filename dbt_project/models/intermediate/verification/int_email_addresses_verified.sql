-- One row per checked address: its latest MillionVerifier answer, mapped to the
-- published email_status and a 0-100 confidence (rules in _int_verification__models.yml).
with

checks as (
    select
        check_id,
        email,
        result,
        quality,
        source_url,
        checked_at,
        row_number() over (
            partition by email
            order by checked_at desc, check_id desc
        ) as recency
    from {{ ref('stg_millionverifier__email_checks') }}
    where email is not null
),

latest as (
    select
        check_id,
        email,
        result,
        quality,
        source_url,
        checked_at
    from checks
    where recency = 1
),

mapped as (
    select
        email,
        result,
        quality,
        checked_at,
        source_url,
        check_id,
        cast(
            case
                when result = 'ok'
                    then case quality when 'good' then 95 when 'risky' then 80 when 'bad' then 60 else 90 end
                when result = 'catch_all'
                    then case quality when 'good' then 55 when 'risky' then 40 when 'bad' then 20 else 40 end
                when result = 'unknown'
                    then case quality when 'good' then 35 when 'risky' then 20 when 'bad' then 5 else 20 end
                when result = 'disposable' then 5
                else 0
            end as numeric(5, 2)
        ) as email_confidence,
        case
            when result = 'ok' then 'green'
            when result in ('catch_all', 'unknown') then 'yellow'
            when result in ('invalid', 'disposable') then 'red'
            else 'gray'
        end as email_status
    from latest
),

final as (
    select
        email,
        email_status,
        email_confidence,
        result,
        quality,
        checked_at,
        source_url,
        check_id
    from mapped
)

select * from final
