{#-
    The body of a persistent key map (int_company_keys, int_person_keys): an append-only
    table `alias_key -> key`, where an alias is one identity form of an entity ("li:<url>",
    "dom:<domain>", "name:<name>" for companies) and the key is the entity's bigint id.
    Keys are assigned once and never change or get reused; see docs/decisions.md.

    `aliases_relation` has one row per (identity_key, alias_key) seen in the current data:
      identity_key   the row's strongest identity form (its primary alias)
      identity_rank  1 strongest .. 3 weakest (company: 1 li, 2 dom, 3 name)
      alias_key      an identity form the identity's rows carry (incl. the identity itself)
      alias_rank     the rank of that form (always >= identity_rank)
      first_seen_at  earliest load time of a row of the identity carrying the alias

    Resolution of each identity, strongest tier first:
      1. direct: the identity is already a mapped alias -> that key (so a key, once
         assigned, is found again on every later run);
      2. fold (tiers 2, 3): the identity is carried as a weaker alias by stronger
         identities of this run that all resolve to one key -> that key
         ("dom:acme.com" rows join the "li:.../company/acme" company that lists acme.com);
      3. claim: one of its weaker aliases is mapped to a key that holds no alias of a
         stronger form the identity has too (a different LinkedIn page or domain is a
         different entity) -> that key; one claimant per key and run (strongest, then
         lowest identity), the others are new;
      4. new: key = current max + row_number() ordered by identity.
    Then every alias not yet mapped is appended: an identity's own alias always (to its
    key); another alias only when it is nobody's primary and all its carriers agree.
-#}
{% macro assign_alias_keys(aliases_relation, key_column, max_rank=3) %}
with

identity_aliases as (
    select
        identity_key,
        identity_rank,
        alias_key,
        alias_rank,
        first_seen_at
    from {{ aliases_relation }}
),

existing_aliases as (
    {%- if is_incremental() %}
    select
        alias_key,
        alias_rank,
        {{ key_column }} as key_seq
    from {{ this }}
    {%- else %}
    select
        alias_key,
        alias_rank,
        cast(null as {{ dbt.type_bigint() }}) as key_seq
    from identity_aliases
    where 1 = 0
    {%- endif %}
),

max_existing_key as (
    select coalesce(max(key_seq), 0) as max_key_seq
    from existing_aliases
),

-- which identity forms each existing key already holds
key_forms as (
    select
        key_seq,
        {%- for rank in range(1, max_rank) %}
        max(case when alias_rank = {{ rank }} then 1 else 0 end) as has_rank_{{ rank }}{{ "," if not loop.last }}
        {%- endfor %}
    from existing_aliases
    group by key_seq
),

-- which identity forms each identity of this run has
identities as (
    select
        identity_key,
        identity_rank,
        {%- for rank in range(1, max_rank) %}
        max(case when alias_rank = {{ rank }} then 1 else 0 end) as has_rank_{{ rank }}{{ "," if not loop.last }}
        {%- endfor %}
    from identity_aliases
    group by identity_key, identity_rank
),

direct_matches as (
    select
        identities.identity_key,
        existing_aliases.key_seq
    from identities
    inner join existing_aliases on identities.identity_key = existing_aliases.alias_key
),

claims as (
    select
        identity_aliases.identity_key,
        identity_aliases.identity_rank,
        identity_aliases.alias_rank as claim_rank,
        existing_aliases.key_seq
    from identity_aliases
    inner join identities on identity_aliases.identity_key = identities.identity_key
    inner join existing_aliases on identity_aliases.alias_key = existing_aliases.alias_key
    inner join key_forms on existing_aliases.key_seq = key_forms.key_seq
    left join direct_matches on identity_aliases.identity_key = direct_matches.identity_key
    where
        direct_matches.identity_key is null
        and identity_aliases.alias_rank > identity_aliases.identity_rank
        {%- for rank in range(1, max_rank) %}
        and (
            identity_aliases.alias_rank <= {{ rank }}
            or identities.has_rank_{{ rank }} = 0
            or key_forms.has_rank_{{ rank }} = 0
        )
        {%- endfor %}
),

best_claims as (
    select
        identity_key,
        identity_rank,
        key_seq,
        row_number() over (partition by identity_key order by claim_rank, key_seq) as claim_order
    from claims
),

ranked_claimants as (
    select
        identity_key,
        key_seq,
        row_number() over (partition by key_seq order by identity_rank, identity_key) as claimant_order
    from best_claims
    where claim_order = 1
),

claim_winners as (
    select
        identity_key,
        key_seq
    from ranked_claimants
    where claimant_order = 1
),

{%- for tier in range(1, max_rank + 1) %}
{%- if tier > 1 %}

resolved_before_tier_{{ tier }} as (
    {%- for earlier in range(1, tier) %}
    select
        identity_key,
        key_seq,
        new_anchor,
        key_token
    from tier_{{ earlier }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

tier_{{ tier }}_folds as (
    select
        identity_aliases.alias_key as identity_key,
        max(resolved_before_tier_{{ tier }}.key_seq) as key_seq,
        max(resolved_before_tier_{{ tier }}.new_anchor) as new_anchor
    from identity_aliases
    inner join resolved_before_tier_{{ tier }}
        on identity_aliases.identity_key = resolved_before_tier_{{ tier }}.identity_key
    where identity_aliases.alias_rank = {{ tier }}
    group by identity_aliases.alias_key
    having count(distinct resolved_before_tier_{{ tier }}.key_token) = 1
),
{%- endif %}

tier_{{ tier }}_resolved as (
    select
        identities.identity_key,
        case
            when direct_matches.key_seq is not null then direct_matches.key_seq
            {%- if tier > 1 %}
            when tier_{{ tier }}_folds.identity_key is not null then tier_{{ tier }}_folds.key_seq
            {%- endif %}
            else claim_winners.key_seq
        end as key_seq,
        case
            when direct_matches.key_seq is not null then null
            {%- if tier > 1 %}
            when tier_{{ tier }}_folds.identity_key is not null then tier_{{ tier }}_folds.new_anchor
            {%- endif %}
            when claim_winners.key_seq is not null then null
            else identities.identity_key
        end as new_anchor
    from identities
    left join direct_matches on identities.identity_key = direct_matches.identity_key
    {%- if tier > 1 %}
    left join tier_{{ tier }}_folds on identities.identity_key = tier_{{ tier }}_folds.identity_key
    {%- endif %}
    left join claim_winners on identities.identity_key = claim_winners.identity_key
    where identities.identity_rank = {{ tier }}
),

tier_{{ tier }} as (
    select
        identity_key,
        key_seq,
        new_anchor,
        coalesce(
            cast(key_seq as {{ dbt.type_string() }}),
            {{ dbt.concat(["'new:'", "new_anchor"]) }}
        ) as key_token
    from tier_{{ tier }}_resolved
),
{%- endfor %}

resolved as (
    {%- for tier in range(1, max_rank + 1) %}
    select
        identity_key,
        key_seq,
        new_anchor
    from tier_{{ tier }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

new_anchors as (
    select distinct new_anchor
    from resolved
    where new_anchor is not null
),

new_keys as (
    select
        new_anchors.new_anchor,
        max_existing_key.max_key_seq
        + row_number() over (order by new_anchors.new_anchor) as key_seq
    from new_anchors
    cross join max_existing_key
),

identity_keys as (
    select
        resolved.identity_key,
        coalesce(resolved.key_seq, new_keys.key_seq) as key_seq
    from resolved
    left join new_keys on resolved.new_anchor = new_keys.new_anchor
),

alias_keys as (
    select
        identity_aliases.identity_key,
        identity_aliases.alias_key,
        identity_aliases.alias_rank,
        identity_aliases.first_seen_at,
        identity_keys.key_seq
    from identity_aliases
    inner join identity_keys on identity_aliases.identity_key = identity_keys.identity_key
),

primary_aliases as (
    select
        alias_key,
        alias_rank,
        key_seq,
        first_seen_at
    from alias_keys
    where alias_key = identity_key
),

secondary_aliases as (
    select
        alias_keys.alias_key,
        min(alias_keys.alias_rank) as alias_rank,
        min(alias_keys.key_seq) as key_seq,
        min(alias_keys.first_seen_at) as first_seen_at
    from alias_keys
    left join identities on alias_keys.alias_key = identities.identity_key
    where identities.identity_key is null
    group by alias_keys.alias_key
    having count(distinct alias_keys.key_seq) = 1
),

learned_aliases as (
    select
        alias_key,
        alias_rank,
        key_seq,
        first_seen_at
    from primary_aliases
    union all
    select
        alias_key,
        alias_rank,
        key_seq,
        first_seen_at
    from secondary_aliases
),

final as (
    select
        learned_aliases.alias_key,
        learned_aliases.alias_rank,
        learned_aliases.key_seq as {{ key_column }},
        learned_aliases.first_seen_at,
        {{ dbt.current_timestamp() }} as assigned_at
    from learned_aliases
    left join existing_aliases on learned_aliases.alias_key = existing_aliases.alias_key
    where existing_aliases.alias_key is null
)

select * from final
{% endmacro %}
