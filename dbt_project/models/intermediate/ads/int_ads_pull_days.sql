{#-
    Per account and day, the newest API pull that asked LinkedIn for that day and got an
    answer with rows. A loaded row whose own pull is older than this one was left out of
    a window LinkedIn answered: the day vanished (int_ads_campaign_days_joined zeroes it).
    A pull answered with no rows at all (no activity, or read access lost: LinkedIn's docs
    say both look the same) vanishes nothing. Pull windows up to 1,000 days are expanded.
-#}

with

pulls as (
    select * from {{ ref('stg_linkedin_ads__pulls') }}
    where pull_source = 'api' and rows_fetched > 0 and date_start is not null
),

day_offsets as (
    {{ ads_day_offsets(3) }}
),

pull_days as (
    select
        pulls.account_id,
        pulls.pull_id,
        pulls.loaded_at,
        cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'pulls.date_start') }} as date)
            as date_day
    from pulls
    inner join day_offsets
        on day_offsets.day_offset <= {{ dbt.datediff('pulls.date_start', 'pulls.date_end', 'day') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by account_id, date_day order by loaded_at desc, pull_id desc
        ) as recency
    from pull_days
),

final as (
    select
        account_id,
        date_day,
        pull_id as latest_pull_id,
        loaded_at as latest_pull_loaded_at
    from ranked
    where recency = 1
)

select * from final
