{#-
    Nothing published ever vanishes (docs/decisions.md, "Dependent views survive a rebuild").

    dbt-postgres replaces a table or view by renaming the old one to `<name>__dbt_backup`,
    renaming the new one into place, committing, and then `drop ... cascade`-ing the
    backup: every view built on the old relation, in any schema, selected or not, goes with
    it. This project's `postgres__drop_relation` (dbt looks in the root project first)
    drops a backup the same way, but in one transaction it first reads the definitions,
    comments and grants of the views the cascade will take (directly or through other
    views), then drops, then re-creates them on the new relation, shallowest first. The
    drop and the re-creation commit together: a reader sees the old view or the new one,
    never none.

    A view that no longer fits its parent (the parent lost a column the view reads) cannot
    be re-created from its old text: dbt prints a warning naming it; building it
    (`dbt build -s <view>`) brings it back.
-#}

{% macro postgres__drop_relation(relation) -%}
    {%- set suffix = '__dbt_backup' -%}
    {%- if relation.identifier is none or not relation.identifier.endswith(suffix) -%}
        {{ return(dbt.default__drop_relation(relation)) }}
    {%- endif -%}
    {%- set target_name = relation.identifier[:-(suffix | length)] -%}
    {#- its own transaction, committed below: the drop and the re-creation go together -#}
    {% call statement('drop_relation', fetch_result=True, auto_begin=True) -%}
        {{ outreach_drop_backup_function() }};
        select * from pg_temp.outreach_drop_backup(
            {{ outreach_quote(relation.schema) }},
            {{ outreach_quote(relation.identifier) }},
            {{ outreach_quote(target_name) }},
            {{ outreach_quote(get_drop_sql(relation)) }}
        )
    {%- endcall %}
    {% do adapter.commit() %}
    {%- set failed = [] -%}
    {%- for row in load_result('drop_relation')['table'] -%}
        {%- if row['failure'] is none -%}
            {#- dbt's cache forgot the cascade's views with the backup: they are back -#}
            {% do adapter.cache_added(api.Relation.create(
                database=relation.database, schema=row['view_schema'],
                identifier=row['view_name'], type='view'
            )) %}
        {%- else -%}
            {% do failed.append(row['view_schema'] ~ '.' ~ row['view_name'] ~ ' (' ~ row['failure'] ~ ')') %}
        {%- endif -%}
    {%- endfor -%}
    {%- if failed -%}
        {% do exceptions.warn(
            "rebuilding " ~ relation.schema ~ "." ~ target_name ~ " dropped views built on it that "
            ~ "could not be re-created from their definitions: " ~ failed | join('; ')
            ~ ". Build them (dbt build -s <view>) to bring them back."
        ) %}
    {%- endif -%}
{%- endmacro %}

{#- A session-local function: drop the backup, re-create its dependent views; one row per
    view it re-created or could not (failure). -#}
{% macro outreach_drop_backup_function() -%}
    create or replace function pg_temp.outreach_drop_backup(
        backup_schema text, backup_name text, target_name text, drop_sql text
    ) returns table (view_schema text, view_name text, failure text)
    language plpgsql as $outreach$
    #variable_conflict use_column
    declare
        backup regclass := to_regclass(format('%I.%I', backup_schema, backup_name));
        swap_name text := left(target_name, 50) || '__dbt_swap';
        saved record;
        stmt text;
    begin
        if backup is null
            or to_regclass(format('%I.%I', backup_schema, target_name)) is null
            or not exists (
                select from pg_catalog.pg_depend as dep
                where
                    dep.refobjid = backup
                    and dep.classid = 'pg_catalog.pg_rewrite'::regclass
                    and dep.refclassid = 'pg_catalog.pg_class'::regclass
            )
        then
            execute drop_sql;
            return;
        end if;
        -- one at a time: two parents of one view, dropped at once by two threads, would each
        -- wait for what the other's re-created views read
        perform pg_advisory_xact_lock(hashtext('outreach: re-create dependent views'));

        -- the backup back under its name for a moment, so that the dependent views' text
        -- names it as they were written (and will read the new relation once re-created)
        execute format('alter table %I.%I rename to %I', backup_schema, target_name, swap_name);
        execute format('alter table %I.%I rename to %I', backup_schema, backup_name, target_name);
        create temporary table outreach_dependent_views on commit drop as
        with recursive dependents (view_oid, depth) as (
            select distinct
                rewrite.ev_class,
                1
            from pg_catalog.pg_depend as dep
            inner join pg_catalog.pg_rewrite as rewrite on dep.objid = rewrite.oid
            where
                dep.classid = 'pg_catalog.pg_rewrite'::regclass
                and dep.refclassid = 'pg_catalog.pg_class'::regclass
                and dep.refobjid = backup
                and rewrite.ev_class <> dep.refobjid
            union all
            select distinct
                rewrite.ev_class,
                dependents.depth + 1
            from dependents
            inner join pg_catalog.pg_depend as dep on dependents.view_oid = dep.refobjid
            inner join pg_catalog.pg_rewrite as rewrite on dep.objid = rewrite.oid
            where
                dep.classid = 'pg_catalog.pg_rewrite'::regclass
                and dep.refclassid = 'pg_catalog.pg_class'::regclass
                and rewrite.ev_class <> dep.refobjid
                and dependents.depth < 50
        ),

        views as (
            select
                view_oid,
                max(depth) as depth
            from dependents
            group by view_oid
        )

        select
            views.depth,
            ns.nspname::text as view_schema,
            cls.relname::text as view_name,
            array[
                format(
                    'create view %I.%I%s as %s',
                    ns.nspname,
                    cls.relname,
                    coalesce(' with (' || array_to_string(cls.reloptions, ', ') || ')', ''),
                    regexp_replace(pg_catalog.pg_get_viewdef(cls.oid), ';\s*$', '')
                )
            ]
            || coalesce((
                select
                    array_agg(format(
                        'comment on %s %I.%I%s is %L',
                        case when descr.objsubid = 0 then 'view' else 'column' end,
                        ns.nspname,
                        cls.relname,
                        case when descr.objsubid = 0 then '' else format('.%I', att.attname) end,
                        descr.description
                    ))
                from pg_catalog.pg_description as descr
                left join pg_catalog.pg_attribute as att
                    on descr.objoid = att.attrelid and descr.objsubid = att.attnum
                where descr.objoid = cls.oid and descr.classoid = 'pg_catalog.pg_class'::regclass
            ), array[]::text [])
            || coalesce((
                select
                    array_agg(format(
                        'grant %s on %I.%I to %s',
                        acl.privilege_type,
                        ns.nspname,
                        cls.relname,
                        case
                            when acl.grantee = 0 then 'public'
                            else quote_ident(pg_catalog.pg_get_userbyid(acl.grantee))
                        end
                    ))
                from aclexplode(cls.relacl) as acl
                where acl.grantee <> cls.relowner
            ), array[]::text []) as restore_sql
        from views
        inner join pg_catalog.pg_class as cls on views.view_oid = cls.oid
        inner join pg_catalog.pg_namespace as ns on cls.relnamespace = ns.oid
        where cls.relkind = 'v';
        execute format('alter table %I.%I rename to %I', backup_schema, target_name, backup_name);
        execute format('alter table %I.%I rename to %I', backup_schema, swap_name, target_name);

        execute drop_sql;
        for saved in
            select * from pg_temp.outreach_dependent_views
            order by depth, view_schema, view_name
        loop
            if to_regclass(format('%I.%I', saved.view_schema, saved.view_name)) is null then
                view_schema := saved.view_schema;
                view_name := saved.view_name;
                failure := null;
                begin
                    foreach stmt in array saved.restore_sql loop
                        execute stmt;
                    end loop;
                exception when others then
                    failure := sqlerrm;
                end;
                return next;
            end if;
        end loop;
        drop table pg_temp.outreach_dependent_views;
    end
    $outreach$
{%- endmacro %}

{% macro outreach_quote(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}
