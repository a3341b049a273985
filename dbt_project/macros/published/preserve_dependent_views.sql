{#-
    Nothing published ever vanishes (docs/decisions.md, "Dependent views survive a rebuild").

    dbt-postgres replaces a table or view by renaming the old one to `<name>__dbt_backup`
    and, after the commit, `drop ... cascade`-ing that backup: every view built on it, in
    any schema, selected or not, goes with it. So:

    1. `save_dependent_views()` (a pre-hook on every model, dbt_project.yml) records, in a
       session temp table, the definition, comments and grants of every view that depends
       on the relation about to be rebuilt, directly or through other views.
    2. `postgres__drop_relation()` (this project's version of dbt's macro) drops a
       `__dbt_backup` and re-creates the recorded views that the cascade took, in
       dependency order, in the same statement: the drop and the re-creation commit
       together, so no reader ever sees a dependent view missing, and the re-created views
       read the new relation.

    A view that cannot be re-created from its saved definition (its parent lost a column it
    reads) is named in a dbt warning; building it (`dbt build -s <view>`) brings it back.
-#}

{% macro save_dependent_views(relation=none) -%}
    {{ return(adapter.dispatch('save_dependent_views', 'outreach')((relation or this).include(database=False))) }}
{%- endmacro %}

{% macro default__save_dependent_views(relation) -%}
    {#- other adapters (Spark) do not drop dependent views on a rebuild -#}
{%- endmacro %}

{% macro outreach_saved_views_table() -%}
    create temporary table if not exists outreach_saved_views (
        parent_oid oid not null,
        depth integer not null,
        view_schema text not null,
        view_name text not null,
        restore_sql text [] not null,
        restored boolean not null default false,
        failure text
    )
{%- endmacro %}

{% macro postgres__save_dependent_views(relation) -%}
    {{ outreach_saved_views_table() }};
    delete from pg_temp.outreach_saved_views
    where parent_oid = to_regclass('{{ relation }}');
    insert into pg_temp.outreach_saved_views (parent_oid, depth, view_schema, view_name, restore_sql)
    with recursive dependents (view_oid, depth) as (
        select distinct
            rewrite.ev_class,
            1
        from pg_catalog.pg_depend as dep
        inner join pg_catalog.pg_rewrite as rewrite on dep.objid = rewrite.oid
        where
            dep.classid = 'pg_catalog.pg_rewrite'::regclass
            and dep.refclassid = 'pg_catalog.pg_class'::regclass
            and dep.refobjid = to_regclass('{{ relation }}')
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
        to_regclass('{{ relation }}'),
        views.depth,
        ns.nspname,
        cls.relname,
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
            select array_agg(format('comment on view %I.%I is %L', ns.nspname, cls.relname, descr.description))
            from pg_catalog.pg_description as descr
            where descr.objoid = cls.oid and descr.classoid = 'pg_catalog.pg_class'::regclass and descr.objsubid = 0
        ), array[]::text [])
        || coalesce((
            select
                array_agg(format(
                    'comment on column %I.%I.%I is %L', ns.nspname, cls.relname, att.attname, descr.description
                ))
            from pg_catalog.pg_description as descr
            inner join pg_catalog.pg_attribute as att
                on descr.objoid = att.attrelid and descr.objsubid = att.attnum
            where descr.objoid = cls.oid and descr.classoid = 'pg_catalog.pg_class'::regclass and descr.objsubid > 0
        ), array[]::text [])
        || coalesce((
            select
                array_agg(format(
                    'grant %s on %I.%I to %s',
                    acl.privilege_type,
                    ns.nspname,
                    cls.relname,
                    case when acl.grantee = 0 then 'public' else quote_ident(pg_catalog.pg_get_userbyid(acl.grantee)) end
                ))
            from aclexplode(cls.relacl) as acl
            where acl.grantee <> cls.relowner
        ), array[]::text [])
    from views
    inner join pg_catalog.pg_class as cls on views.view_oid = cls.oid
    inner join pg_catalog.pg_namespace as ns on cls.relnamespace = ns.oid
    where cls.relkind = 'v'
{%- endmacro %}

{#- dbt's drop, plus: re-create what a backup's cascade took (see the top of this file). -#}
{% macro postgres__drop_relation(relation) -%}
    {%- if not relation.identifier.endswith('__dbt_backup') -%}
        {{ return(dbt.default__drop_relation(relation)) }}
    {%- endif -%}
    {% call statement('drop_relation', auto_begin=False) -%}
        {{ outreach_saved_views_table() }};
        do $outreach$
        declare
            parent oid := to_regclass('{{ relation.include(database=False) }}');
            saved record;
            stmt text;
        begin
            execute {{ "'" ~ (get_drop_sql(relation) | replace("'", "''")) ~ "'" }};
            if parent is null then
                return;
            end if;
            for saved in
                select * from pg_temp.outreach_saved_views
                where parent_oid = parent
                order by depth, view_schema, view_name
            loop
                if to_regclass(format('%I.%I', saved.view_schema, saved.view_name)) is null then
                    begin
                        foreach stmt in array saved.restore_sql loop
                            execute stmt;
                        end loop;
                        update pg_temp.outreach_saved_views set restored = true
                        where parent_oid = parent and view_schema = saved.view_schema
                            and view_name = saved.view_name;
                    exception when others then
                        update pg_temp.outreach_saved_views set failure = sqlerrm
                        where parent_oid = parent and view_schema = saved.view_schema
                            and view_name = saved.view_name;
                    end;
                end if;
            end loop;
            -- kept for the report below: what was re-created, what could not be
            delete from pg_temp.outreach_saved_views
            where parent_oid = parent and not restored and failure is null;
        end
        $outreach$
    {%- endcall %}
    {% call statement('dependent_views_restored', fetch_result=True, auto_begin=False) -%}
        delete from pg_temp.outreach_saved_views
        where restored or failure is not null
        returning view_schema, view_name, failure
    {%- endcall %}
    {%- set failed = [] -%}
    {%- for row in load_result('dependent_views_restored')['table'] -%}
        {%- if row['failure'] is none -%}
            {#- dbt's cache dropped the cascade's views with the backup: they are back -#}
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
            "rebuilding " ~ relation.schema ~ "." ~ relation.identifier[:-12] ~ " dropped views "
            ~ "built on it that could not be re-created from their saved definitions: "
            ~ failed | join('; ') ~ ". Build them (dbt build -s <view>) to bring them back."
        ) %}
    {%- endif -%}
{%- endmacro %}
