{#-
    The comparison rules of change detection, shared by every path of
    int_person_observations (docs: intermediate/change_detection/
    _int_change_detection__models.yml). Each macro takes two column prefixes: `new` and
    `previous` are prepended to the observation columns (title_key, has_current_position,
    employer_company_id, employer_linkedin_url, employer_domain, employer_name_key, title,
    employer_name), e.g. ('', 'previous_').
-#}

{#- The columns an observation's state is made of (observation_state_differs). -#}
{% macro observation_state_columns() -%}
    {{ return([
        'title', 'title_key', 'has_current_position', 'employer_name', 'employer_linkedin_url',
        'employer_domain', 'employer_name_key', 'employer_company_id',
    ]) }}
{%- endmacro %}

{#-
    The employer changed: unless both sides resolve to the same tracked company, or - when
    they do not both resolve - the strongest identity form both sides have (LinkedIn page,
    then domain, then normalised name) is equal; no employer on both sides (no current
    job) is the same.
-#}
{% macro employer_changed(new, previous) -%}
    case
        when
            {{ new }}employer_company_id is null and {{ new }}employer_linkedin_url is null
            and {{ new }}employer_domain is null and {{ new }}employer_name_key is null
            and {{ previous }}employer_company_id is null and {{ previous }}employer_linkedin_url is null
            and {{ previous }}employer_domain is null and {{ previous }}employer_name_key is null
            then false
        when {{ new }}employer_company_id is not null and {{ previous }}employer_company_id is not null
            then {{ new }}employer_company_id <> {{ previous }}employer_company_id
        when {{ new }}employer_linkedin_url is not null and {{ previous }}employer_linkedin_url is not null
            then {{ new }}employer_linkedin_url <> {{ previous }}employer_linkedin_url
        when {{ new }}employer_domain is not null and {{ previous }}employer_domain is not null
            then {{ new }}employer_domain <> {{ previous }}employer_domain
        when {{ new }}employer_name_key is not null and {{ previous }}employer_name_key is not null
            then {{ new }}employer_name_key <> {{ previous }}employer_name_key
        else true
    end
{%- endmacro %}

{#- The title changed: its comparison key (normalize_titles) or having a current job differs. -#}
{% macro title_changed(new, previous) -%}
    (
        coalesce({{ new }}title_key, '') <> coalesce({{ previous }}title_key, '')
        or {{ new }}has_current_position <> {{ previous }}has_current_position
    )
{%- endmacro %}

{#-
    Anything of the state differs, as written (title and employer name included): an
    observation that differs in nothing from the one before it is not recorded - it can
    only ever compare as that one does.
-#}
{% macro observation_state_differs(new, previous) -%}
    (
        {%- for column in observation_state_columns() %}
        {{ new }}{{ column }} is distinct from {{ previous }}{{ column }}{{ ' or' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#- The SQL types of the observation columns a state is kept with. -#}
{% macro observation_state_types() -%}
    {%- set text = dbt.type_string() -%}
    {{ return({
        'observation_key': text, 'origin': text, 'observed_at': type_timestamptz(),
        'loaded_at': type_timestamptz(), 'job_unique_id': text, 'title': text, 'title_key': text,
        'has_current_position': dbt.type_boolean(), 'employer_name': text,
        'employer_linkedin_url': text, 'employer_domain': text, 'employer_name_key': text,
        'employer_company_id': dbt.type_bigint(),
    }) }}
{%- endmacro %}

{#-
    The rank of an observation as a profile's comparison state (int_person_observation_states:
    the highest wins): a LinkedIn observation before an intake row, then the later loaded,
    then the higher key. A row value, compared with `>` or sorted `desc`.
-#}
{% macro observation_state_rank(prefix) -%}
    (case when {{ prefix }}origin = 'linkedin' then 1 else 0 end, {{ prefix }}loaded_at, {{ prefix }}observation_key)
{%- endmacro %}
