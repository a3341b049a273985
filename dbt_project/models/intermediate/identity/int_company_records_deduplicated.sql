-- One row per company_id: the latest intake row (by load time, then row number) of any of
-- the company's identities, with the first time the company was seen.
with

companies as (
    select * from {{ ref('stg_intake__companies') }}
),

company_keys as (
    select
        alias_key,
        company_seq,
        first_seen_at
    from {{ ref('int_company_keys') }}
),

first_seen as (
    select
        company_seq,
        min(first_seen_at) as first_seen_at
    from company_keys
    group by company_seq
),

keyed as (
    select
        companies.*,
        company_keys.company_seq as company_id,
        row_number() over (
            partition by company_keys.company_seq
            order by
                companies.loaded_at desc,
                companies.source_row_number desc,
                companies.source_file desc,
                companies.row_key desc
        ) as recency
    from companies
    inner join company_keys on companies.company_identity = company_keys.alias_key
),

final as (
    select
        keyed.company_id,
        keyed.company_identity,
        keyed.company_name,
        keyed.company_name_normalized,
        keyed.ein,
        keyed.website_url,
        keyed.domain,
        keyed.linkedin_url,
        keyed.news_url,
        keyed.address_line1,
        keyed.address_line2,
        keyed.city,
        keyed.state_region,
        keyed.postal_code,
        keyed.country,
        keyed.renewal_month,
        keyed.renewal_notice_window_days,
        keyed.source_file,
        keyed.source_row_number,
        first_seen.first_seen_at as created_at,
        keyed.loaded_at as updated_at
    from keyed
    inner join first_seen on keyed.company_id = first_seen.company_seq
    where keyed.recency = 1
)

select * from final
