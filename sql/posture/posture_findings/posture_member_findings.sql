-- posture_member_findings
-- grain:       one row per account, day and control read from the members:
--              open memberships of users not closed in the organization
-- primary key: (dt, account_id, control_id)
-- window:      window_start <= dt < window_end
-- lookbacks:   none of its own: users and user_accounts have their own
-- controls:    one row each in `controls` below: (control_id, ok, observed,
--              problem). An account without membership data or active
--              members is unknown for every control (no_members_reason);
--              otherwise `problem` is the reason, if any.

with

memberships as (
    select * from user_accounts
    where in_window(dt) and account_id is not null
),

users_of_day as (
    select * from users
    where in_window(dt)
),

organization_users as (
    select * from stg_docusign__organization_users
    where in_window(dt) and user_id is not null
    qualify
        row_number() over (
            partition by dt, user_id order by snapshot_taken_at desc
        ) = 1
),

members as (
    select
        memberships.dt,
        memberships.account_id,
        memberships.user_id,
        coalesce(users_of_day.email, memberships.email, memberships.user_id)
            as email,
        coalesce(memberships.is_admin, false)
        or coalesce(users_of_day.is_organization_admin, false) as is_admin,
        memberships.opened_at,
        users_of_day.last_activity_at,
        users_of_day.idp_status,
        coalesce(
            len(
                list_filter(
                    users_of_day.closed_account_ids,
                    lambda x: x <> memberships.account_id
                )
            ),
            0
        ) > 0 as is_closed_elsewhere,
        organization_users.require_two_step_verification as requires_2sv,
        coalesce(
            getvariable('posture_two_step_verification_exempt_federated')
            and lower(organization_users.federated_status) = 'fedauthrequired',
            false
        ) as is_sso_exempt,
        timezone('UTC', (memberships.dt + 1)::timestamp)
        - to_days(getvariable('posture_inactive_admin_days')::int)
            as dormant_before,
        coalesce(
            getvariable('posture_audit_history_start')
            <= memberships.dt + 1
            - getvariable('posture_inactive_admin_days')::int,
            false
        ) as history_covers_window
    from memberships
    left join users_of_day
        on memberships.dt = users_of_day.dt
        and memberships.user_id = users_of_day.user_id
    left join organization_users
        on memberships.dt = organization_users.dt
        and memberships.user_id = organization_users.user_id
    where
        memberships.is_open
        and coalesce(users_of_day.organization_user_status, '')
        not in ('closed', 'removed')
),

members_summary as (
    select
        dt,
        account_id,
        count(*) as member_count,
        count(*) filter (where is_admin) as admin_count,
        coalesce(list(email order by email) filter (where is_admin), [])
            as admins,
        count(*) filter (where not is_sso_exempt) as two_step_scope,
        count(*) filter (where not is_sso_exempt and requires_2sv)
            as with_2sv,
        count(*) filter (where not is_sso_exempt and requires_2sv is null)
            as unknown_2sv,
        coalesce(
            list(email order by email)
                filter (where not is_sso_exempt and not requires_2sv),
            []
        ) as without_2sv,
        coalesce(
            list(
                email || ' (last activity '
                || strftime(last_activity_at, '%Y-%m-%d') || ')'
                order by email
            ) filter (where is_admin and last_activity_at < dormant_before),
            []
        ) || coalesce(
            list(email || ' (no activity in the audit log)' order by email)
                filter (
                    where
                        is_admin
                        and last_activity_at is null
                        and history_covers_window
                        and coalesce(opened_at < dormant_before, true)
                ),
            []
        ) as dormant_admins,
        coalesce(
            list(email order by email) filter (
                where
                    is_admin
                    and last_activity_at is null
                    and not history_covers_window
                    and coalesce(opened_at < dormant_before, true)
            ),
            []
        ) as admins_not_seen_yet,
        coalesce(
            list(email order by email) filter (where is_closed_elsewhere), []
        ) as closed_elsewhere,
        coalesce(
            list(email || ' (' || idp_status || ')' order by email) filter (
                where list_contains(
                    getvariable('posture_idp_statuses'), idp_status
                )
            ),
            []
        ) as idp_removed,
        bool_and(idp_status is null) as no_idp_snapshot
    from members
    group by all
),

membership_days as (
    select distinct dt, account_id from memberships
),

members_values as (
    select
        account_days.dt,
        account_days.account_id,
        account_days.day_end,
        coalesce(members_summary.member_count, 0) as member_count,
        members_summary.* exclude (dt, account_id, member_count),
        case
            when membership_days.account_id is null
                then 'no membership data for this account'
            when coalesce(members_summary.member_count, 0) = 0
                then 'no active members in this account'
        end as no_members_reason
    from posture_account_days as account_days
    left join membership_days
        on account_days.dt = membership_days.dt
        and account_days.account_id = membership_days.account_id
    left join members_summary
        on account_days.dt = members_summary.dt
        and account_days.account_id = members_summary.account_id
),

final as (
    select
        dt,
        account_id,
        controls.control_id,
        posture_status(
            case when no_members_reason is null then controls.ok end
        ) as status,
        case when no_members_reason is null then controls.observed end
            as observed,
        coalesce(no_members_reason, controls.problem) as status_reason,
        day_end as evidence_taken_at
    from members_values,
        lateral (values
            (
                'two_step_verification',
                case
                    when two_step_scope = 0 then true
                    when
                        with_2sv * 100 >= getvariable(
                            'posture_two_step_verification_min_percent'
                        ) * two_step_scope
                        then true
                    when
                        (with_2sv + unknown_2sv) * 100 < getvariable(
                            'posture_two_step_verification_min_percent'
                        ) * two_step_scope
                        then false
                end,
                with_2sv || ' of ' || two_step_scope || ' members ('
                || round(100.0 * with_2sv / nullif(two_step_scope, 0), 1)
                || '%) require two-step verification'
                || posture_listed('; not required for ', without_2sv),
                case
                    when unknown_2sv > 0
                        then unknown_2sv || ' members have no '
                            || 'require_two_step_verification in the '
                            || 'organization-user snapshot of this day'
                end
            ),
            (
                'admin_share',
                admin_count * 100
                <= getvariable('posture_admin_max_percent') * member_count
                or admin_count <= getvariable('posture_admin_max_count'),
                posture_count(admin_count, 'administrator', 'administrators')
                || ' of '
                || posture_count(member_count, 'active member', 'active members')
                || ' ('
                || round(100.0 * admin_count / member_count, 1) || '%)'
                || posture_listed(': ', admins),
                null
            ),
            (
                'inactive_admins',
                case
                    when len(dormant_admins) > 0 then false
                    when len(admins_not_seen_yet) > 0 then null
                    else true
                end,
                case
                    when len(dormant_admins) > 0
                        then len(dormant_admins) || ' of '
                            || posture_count(admin_count, 'administrator', 'administrators')
                            || ' inactive: '
                            || posture_sample(dormant_admins, 5)
                    else (admin_count - len(admins_not_seen_yet)) || ' of '
                        || posture_count(admin_count, 'administrator', 'administrators')
                        || ' active within '
                        || getvariable('posture_inactive_admin_days') || ' days'
                end,
                case
                    when len(dormant_admins) = 0 and len(admins_not_seen_yet) > 0
                        then posture_count(
                                len(admins_not_seen_yet), 'administrator', 'administrators'
                            )
                            || ' without activity since the '
                            || 'audit history began ('
                            || coalesce(
                                getvariable('posture_audit_history_start')
                                    ::varchar,
                                'no audit events in the lake'
                            )
                            || '), fewer than '
                            || getvariable('posture_inactive_admin_days')
                            || ' days ago: '
                            || posture_sample(admins_not_seen_yet, 5)
                end
            ),
            (
                'users_closed_elsewhere',
                len(closed_elsewhere) = 0,
                posture_count(len(closed_elsewhere), 'active member', 'active members')
                || ' closed in '
                || 'another account'
                || posture_listed(': ', closed_elsewhere),
                null
            ),
            (
                'idp_deleted_users',
                case
                    when len(idp_removed) > 0 then false
                    when no_idp_snapshot then null
                    else true
                end,
                case
                    when not no_idp_snapshot
                        then posture_count(len(idp_removed), 'active member', 'active members')
                            || ' removed in '
                            || 'the identity provider'
                            || posture_listed(': ', idp_removed)
                end,
                case
                    when no_idp_snapshot
                        then 'no identity-provider snapshot on or before '
                            || 'this day'
                end
            )
        ) as controls (control_id, ok, observed, problem)
)

select * from final
