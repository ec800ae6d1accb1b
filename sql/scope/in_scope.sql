-- in_scope
-- grain:       the alerts of scope_input that are in the policy's scope (a
--              subset of its rows, columns unchanged)
-- primary key: alert_id
-- window:      the alerts' own days; users and group members of each
--              alert's day
-- inputs:      scope_input (the policy's alerts), scope_rules (temp table:
--              side include|exclude, kind user|group, value lowercased),
--              users (mart), stg_idp__group_members; variables
--              scope_<side>_given, scope_<side>_lists (users or groups
--              listed), scope_<side>_managed, scope_<side>_admin (null = any)
-- membership:  a group's members as of the latest snapshot on or before the
--              alert's day, else the earliest; matched on the e-mail
-- notes:       an alert about no single user (user_id null) stays in scope

with

alerts as (
    select * from scope_input
),

alert_users as (
    select distinct
        alerts.dt,
        alerts.user_id,
        lower(coalesce(alerts.user_email, users.email)) as email,
        users.is_admin,
        users.is_managed
    from alerts
    left join users
        on alerts.dt = users.dt
        and alerts.user_id = users.user_id
    where alerts.user_id is not null
),

rule_groups as (
    select distinct value as group_id from scope_rules where kind = 'group'
),

group_days as (
    select distinct group_id, dt from stg_idp__group_members
),

group_snapshots as (
    select
        alert_days.dt,
        rule_groups.group_id,
        coalesce(
            max(group_days.dt) filter (where group_days.dt <= alert_days.dt),
            min(group_days.dt)
        ) as snapshot_dt
    from (select distinct dt from alert_users) as alert_days
    cross join rule_groups
    left join group_days on rule_groups.group_id = group_days.group_id
    group by all
),

memberships as (
    select
        group_snapshots.dt,
        group_snapshots.group_id,
        members.member_key
    from group_snapshots
    inner join stg_idp__group_members as members
        on group_snapshots.group_id = members.group_id
        and group_snapshots.snapshot_dt = members.dt
    where members.member_key is not null
),

listed as (
    select alert_users.dt, alert_users.user_id, rules.side
    from alert_users
    inner join scope_rules as rules
        on rules.kind = 'user'
        and (rules.value = lower(alert_users.user_id) or rules.value = alert_users.email)
    union
    select alert_users.dt, alert_users.user_id, rules.side
    from alert_users
    inner join scope_rules as rules on rules.kind = 'group'
    inner join memberships
        on alert_users.dt = memberships.dt
        and rules.value = memberships.group_id
        and alert_users.email = memberships.member_key
),

verdicts as (
    select
        alert_users.dt,
        alert_users.user_id,
        coalesce(bool_or(listed.side = 'include'), false) as include_listed,
        coalesce(bool_or(listed.side = 'exclude'), false) as exclude_listed,
        any_value(alert_users.is_managed) as is_managed,
        any_value(alert_users.is_admin) as is_admin
    from alert_users
    left join listed
        on alert_users.dt = listed.dt
        and alert_users.user_id = listed.user_id
    group by all
),

matches as (
    select
        dt,
        user_id,
        (not getvariable('scope_include_lists') or include_listed)
        and coalesce(
            getvariable('scope_include_managed') is null
            or is_managed = getvariable('scope_include_managed'), false
        )
        and coalesce(
            getvariable('scope_include_admin') is null
            or is_admin = getvariable('scope_include_admin'), false
        ) as matches_include,
        (not getvariable('scope_exclude_lists') or exclude_listed)
        and coalesce(
            getvariable('scope_exclude_managed') is null
            or is_managed = getvariable('scope_exclude_managed'), false
        )
        and coalesce(
            getvariable('scope_exclude_admin') is null
            or is_admin = getvariable('scope_exclude_admin'), false
        ) as matches_exclude
    from verdicts
),

final as (
    select alerts.*
    from alerts
    left join matches
        on alerts.dt = matches.dt
        and alerts.user_id = matches.user_id
    where
        alerts.user_id is null
        or (
            (not getvariable('scope_include_given') or matches.matches_include)
            and not (getvariable('scope_exclude_given') and matches.matches_exclude)
        )
)

select * from final
