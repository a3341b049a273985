-- One row per (company identity, identity form its rows carry): the input of the
-- company key map. Ranks: 1 li (LinkedIn company page), 2 dom (website domain), 3 name.
with

companies as (
    select
        company_identity,
        linkedin_alias,
        domain_alias,
        name_alias,
        loaded_at,
        case
            when linkedin_alias is not null then 1
            when domain_alias is not null then 2
            else 3
        end as identity_rank
    from {{ ref('stg_intake__companies') }}
    where company_identity is not null
),

aliases as (
    select
        company_identity as identity_key,
        identity_rank,
        linkedin_alias as alias_key,
        1 as alias_rank,
        loaded_at
    from companies
    where linkedin_alias is not null
    union all
    select
        company_identity as identity_key,
        identity_rank,
        domain_alias as alias_key,
        2 as alias_rank,
        loaded_at
    from companies
    where domain_alias is not null
    union all
    select
        company_identity as identity_key,
        identity_rank,
        name_alias as alias_key,
        3 as alias_rank,
        loaded_at
    from companies
    where name_alias is not null
),

final as (
    select
        identity_key,
        identity_rank,
        alias_key,
        alias_rank,
        min(loaded_at) as first_seen_at
    from aliases
    group by identity_key, identity_rank, alias_key, alias_rank
)

select * from final
