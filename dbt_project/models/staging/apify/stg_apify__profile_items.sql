{#-
    One row per observed LinkedIn profile per dataset, the item shapes normalised (see
    loaders/apify_linkedin/README.md "Item shapes"): flat (fullName / jobTitle /
    companyName / companyLinkedinUrl), experience[] (position, companyName,
    companyLinkedinUrl, startDate, endDate) and experiences[] (title, subtitle,
    companyLink1, caption). The current position of a job list is the job whose end date
    leaves it open (none, "Present", {"text": "Present"}, no year), the latest start first;
    an item whose every job has ended has no current position (the person left). An item
    no rule understands (item_shape unparsed) has has_current_position null. Items without a LinkedIn
    profile URL or a name are not observations and are dropped.
-#}
with

positions as (
    select * from {{ ref('stg_apify__profile_positions') }}
),

profiles as (
    select
        item_key,
        job_unique_id,
        run_id,
        dataset_id,
        item_index,
        observed_at,
        loaded_at,
        linkedin_url,
        input_linkedin_url,
        profile_url_as_given,
        {{ apify_full_name('full_name_given', 'first_name_given', 'last_name_given') }} as full_name,
        {{ normalize_whitespace('first_name_given') }} as first_name,
        {{ normalize_whitespace('last_name_given') }} as last_name,
        {{ normalize_whitespace('headline_given') }} as headline,
        item_shape,
        {{ normalize_whitespace('title_given') }} as title,
        {{ normalize_whitespace('company_name_given') }} as company_name,
        {{ normalize_linkedin_url('company_linkedin_url_given') }} as company_linkedin_url
    from positions
    where linkedin_url is not null and has_name
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by linkedin_url, dataset_id
            -- an item no rule understands only counts when the profile has no other
            order by case when item_shape = 'unparsed' then 1 else 0 end, item_index asc, item_key asc
        ) as row_in_dataset
    from profiles
),

-- above the window, so title and company (normalised) are computed once per row
kept as (
    select
        *,
        -- unknown for an item no rule understands (it is no observation of a position)
        case when item_shape <> 'unparsed' then coalesce(title, company_name) is not null end as has_current_position
    from deduplicated
    where row_in_dataset = 1
),

final as (
    select
        item_key,
        linkedin_url,
        input_linkedin_url,
        profile_url_as_given,
        full_name,
        first_name,
        last_name,
        headline,
        title,
        company_name,
        company_linkedin_url,
        has_current_position,
        item_shape,
        observed_at,
        job_unique_id,
        run_id,
        dataset_id,
        item_index,
        loaded_at
    from kept
)

select * from final
