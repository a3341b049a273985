-- One row per (person identity, identity form its rows carry): the input of the person
-- key map. Ranks: 1 li (LinkedIn profile), 2 email, 3 name (full name + employer).
-- A table (analysed when built): the key map and three data tests read it, each of which
-- re-ran it as a view (issue 18).
{{ config(materialized='table') }}

with

people as (
    select
        person_identity,
        linkedin_alias,
        email_alias,
        name_alias,
        loaded_at,
        case
            when linkedin_alias is not null then 1
            when email_alias is not null then 2
            else 3
        end as identity_rank
    from {{ ref('int_person_employers_resolved') }}
    where person_identity is not null
),

aliases as (
    select
        person_identity as identity_key,
        identity_rank,
        linkedin_alias as alias_key,
        1 as alias_rank,
        loaded_at
    from people
    where linkedin_alias is not null
    union all
    select
        person_identity as identity_key,
        identity_rank,
        email_alias as alias_key,
        2 as alias_rank,
        loaded_at
    from people
    where email_alias is not null
    union all
    select
        person_identity as identity_key,
        identity_rank,
        name_alias as alias_key,
        3 as alias_rank,
        loaded_at
    from people
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
