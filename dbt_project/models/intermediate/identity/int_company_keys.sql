{#-
    The persistent company key map (schema keymap): every identity form ("li:", "dom:",
    "name:") ever seen -> company_seq, the company_id. Append-only and never rebuilt:
    `full_refresh=false` keeps `dbt build --full-refresh` from renumbering companies, and
    `on_schema_change='fail'` keeps a column change from silently rewriting it. The
    pre-hook serialises concurrent runs (no two runs hand out the same max + 1); on
    PostgreSQL a unique index on alias_key backs the `unique` test.
    Resolution rules: macros/assign_alias_keys.sql and docs/decisions.md.
-#}
{{ keymap_config('alias_key') }}

{{ assign_alias_keys(ref('int_company_identity_aliases'), 'company_seq') }}
