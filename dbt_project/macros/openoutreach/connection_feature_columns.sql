{#-
    The feature columns ml_connection_accepted and linkedin_connect_candidates share:
    OpenOutreach's 24 mechanical features (linkedin/ml/scorer.py MECHANICAL_FEATURES, its
    order) from `features`, its profile_text, and ours from `context`. The scorer
    (orchestration/connect_scorer.py) reads them under these names.
-#}
{% macro openoutreach_mechanical_features() -%}
    {{ return([
        'connection_degree', 'num_positions', 'num_educations', 'has_summary', 'headline_length',
        'summary_length', 'has_industry', 'has_geo', 'has_location', 'has_company',
        'num_distinct_companies', 'positions_with_description_ratio', 'num_position_locations',
        'total_description_length', 'has_position_descriptions', 'is_currently_employed',
        'avg_title_length', 'years_experience', 'current_position_tenure_months',
        'avg_position_tenure_months', 'longest_tenure_months', 'has_education_degree',
        'has_field_of_study', 'has_multiple_degrees',
    ]) }}
{%- endmacro %}

{% macro connection_feature_columns(features='features', context='context') -%}
    {%- for name in openoutreach_mechanical_features() %}
        {{ features }}.{{ name }},
    {%- endfor %}
        {{ features }}.profile_text,
        {{ context }}.linkedin_url as profile,
        {{ context }}.had_recent_job_change,
        {{ context }}.seniority_rank,
        {{ context }}.company_in_renewal_window,
        {{ context }}.has_verified_email
{%- endmacro %}
