{#-
    int_person_observations, part 10: the new rows the history path records - compared
    LinkedIn rows, late rows, intake rows. (Part 11, the model itself: dataset rows and the
    union of both paths.) CTE: history_recorded.
-#}
{% macro person_observations_history_recorded(o) -%}
-- the new rows the history path records: compared LinkedIn rows, late rows, intake rows
history_recorded as (
    select
        {{ column_list('new_rows.{c}', o.row_columns | reject('equalto', 'full_name') | list) }},
        new_rows.full_name_given,
        new_rows.first_name_given,
        new_rows.last_name_given,
        coalesce(late.is_late_now, false) as is_late,
        decided.previous_observation_key,
        decided.employer_changed,
        decided.title_changed,
        coalesce(decided.employer_changed or decided.title_changed, false) as is_change,
        {{ column_list('decided.{c}', o.previous_columns) }}
    from (
        select
            {{ column_list('{c}', o.row_columns | reject('equalto', 'full_name') | list) }},
            full_name_given,
            first_name_given,
            last_name_given
        from history_new
        union all
        select
            {{ column_list('{c}', o.row_columns | reject('equalto', 'full_name') | list) }},
            full_name_given,
            first_name_given,
            last_name_given
        from intake_observed
    ) as new_rows
    left join history_decided as decided
        on new_rows.observation_key = decided.observation_key and decided.is_new
    left join linkedin_flagged as late
        on new_rows.observation_key = late.observation_key and late.is_new and late.is_late_now
    where
        new_rows.origin = 'intake'
        or late.observation_key is not null
        or decided.is_recorded
)
{%- endmacro %}
