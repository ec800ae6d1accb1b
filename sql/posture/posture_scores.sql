-- posture_scores
-- grain:       one row per account per day, plus one per organization per day
-- primary key: (dt, scope, scope_id)
-- window:      window_start <= dt < window_end
-- scope:       'account' (scope_id = account_id) or 'organization'
--              (scope_id = organization_id: every account's controls)
-- scope_name:  the account's name, or the organization's name from the Admin
--              API's account snapshot (its id when no snapshot names it)
-- score:       points_achieved / points_possible, Secure Score style: each
--              control is worth posture.severity_points of its severity and
--              earns them only when it passes. An unknown control stays in
--              points_possible and earns nothing, so missing data can never
--              raise a score; score_of_known_pct leaves unknowns out and
--              coverage_pct says how much of the score rests on known data.

with

findings as (
    select * from posture_findings
    where in_window(dt)
),

accounts as (
    select
        dt,
        'account' as scope,
        account_id as scope_id,
        organization_id,
        account_id,
        any_value(account_name) as scope_name,
        1 as account_count,
        sum(points_achieved) as points_achieved,
        sum(points_possible) as points_possible,
        coalesce(sum(points_possible) filter (where status = 'unknown'), 0)
            as points_unknown,
        count(*) filter (where status = 'pass') as controls_passed,
        count(*) filter (where status = 'fail') as controls_failed,
        count(*) filter (where status = 'unknown') as controls_unknown
    from findings
    group by dt, organization_id, account_id
),

organization_names as (
    select dt, organization_id, any_value(organization_name) as organization_name
    from stg_docusign__accounts
    where in_window(dt)
    group by all
),

organizations as (
    select
        dt,
        'organization' as scope,
        coalesce(organization_id, 'unknown') as scope_id,
        organization_id,
        null::varchar as account_id,
        coalesce(any_value(organization_names.organization_name), organization_id, 'unknown')
            as scope_name,
        count(*) as account_count,
        sum(points_achieved) as points_achieved,
        sum(points_possible) as points_possible,
        sum(points_unknown) as points_unknown,
        sum(controls_passed) as controls_passed,
        sum(controls_failed) as controls_failed,
        sum(controls_unknown) as controls_unknown
    from accounts
    left join organization_names using (dt, organization_id)
    group by dt, organization_id
),

scored as (
    select * from accounts
    union all
    select * from organizations
),

final as (
    select
        dt,
        scope,
        scope_id,
        scope_name,
        organization_id,
        account_id,
        account_count,
        points_achieved::integer as points_achieved,
        points_possible::integer as points_possible,
        points_unknown::integer as points_unknown,
        round(100.0 * points_achieved / nullif(points_possible, 0), 1)
            as score_pct,
        round(
            100.0 * points_achieved
            / nullif(points_possible - points_unknown, 0),
            1
        ) as score_of_known_pct,
        round(
            100.0 * (points_possible - points_unknown)
            / nullif(points_possible, 0),
            1
        ) as coverage_pct,
        controls_passed::integer as controls_passed,
        controls_failed::integer as controls_failed,
        controls_unknown::integer as controls_unknown
    from scored
)

select * from final
