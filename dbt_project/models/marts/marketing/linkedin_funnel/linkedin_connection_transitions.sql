-- One row per state change of an OpenOutreach profile (published as
-- marketing.linkedin_connection_transitions): from_state -> to_state at a date, in order.
-- A state set again (a repeated stages_dates line) is no change and is left out; a change
-- the state machine does not allow (seeds/openoutreach_allowed_transitions.csv) is kept
-- with is_allowed false. Profiles link to people by canonical LinkedIn URL.
with

changes as (
    select
        *,
        lag(state) over (partition by account, deal_id order by seq) as previous_state
    from {{ ref('int_connection_state_changes') }}
    where is_parsed
),

moves as (
    select * from changes
    where previous_state is null or previous_state <> state
),

ordered as (
    select
        account,
        deal_id,
        lead_id,
        seq,
        changed_on,
        state,
        origin,
        lag(state) over (partition by account, deal_id order by seq) as from_state
    from moves
),

allowed as (
    select * from {{ ref('openoutreach_allowed_transitions') }}
),

profiles as (
    select * from {{ ref('int_connection_profile_context') }}
),

final as (
    select
        {{ dbt.concat(["ordered.account", "':'", "cast(ordered.deal_id as " ~ dbt.type_string() ~ ")",
            "':'", "cast(ordered.seq as " ~ dbt.type_string() ~ ")"]) }} as transition_id,
        ordered.account,
        profiles.linkedin_url as profile,
        ordered.lead_id,
        ordered.deal_id,
        profiles.person_unique_id,
        profiles.contact_id,
        ordered.seq,
        ordered.from_state,
        ordered.state as to_state,
        -- `at` is the published column name (issue 21)
        ordered.changed_on as at,  -- noqa: RF04
        ordered.origin,
        allowed.to_state is not null as is_allowed
    from ordered
    left join allowed
        on
            coalesce(ordered.from_state, '(start)') = allowed.from_state
            and ordered.state = allowed.to_state
    left join profiles
        on ordered.account = profiles.account and ordered.lead_id = profiles.lead_id
)

select * from final
