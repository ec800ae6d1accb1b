-- users
-- grain:       one row per organization user per day: the state at the end
--              of that day
-- primary key: (dt, user_id)
-- window:      window_start <= dt < window_end
-- lookbacks:   organization-user snapshots, organization lifecycle events,
--              int_user_activity_daily and IdP snapshots before window_end;
--              the snapshots' listings, the daily activity and the latest
--              IdP snapshot as users_listed_before, users_activity_before and
--              users_idp_before (users/), each ended month rolled up once
-- state:       'deleted'          closed in the organization, or no open
--                                 membership (closed in every account)
--              'partially_active' open in some accounts, closed in others
--              'active'           open in every account
--              (MDCA calls a user deleted when closed in any one account)
-- managed:     is_managed when the e-mail's domain (domain) is an active
--              reserved domain in the latest domain snapshot on or before
--              the day (when that one has no active domain, the earliest one
--              that has); null before any domain snapshot
-- idp_status:  'deleted' | 'disabled' as the identity provider reports them,
--              'not_reported' when the latest IdP snapshot does not list the
--              user, null when no IdP snapshot exists yet

with

days as (
    select day from window_days()
),

organization_users as not materialized (
    select * from stg_docusign__organization_users
    where dt < getvariable('window_end') and user_id is not null
),

-- the window's listings; the days before it come from users_listed_before,
-- each ended month rolled up once (dsassets/lib/transform/history.py): only
-- the snapshots the window's days read carry all their columns
-- (readable_organization_users)
window_listings as materialized (
    select user_id, dt from organization_users
    where dt >= getvariable('window_start')
),

-- per user, the first day a snapshot lists them and their latest listing
-- before the window
listed_users as (
    select
        user_id,
        min(first_dt) as first_dt,
        max(latest_dt) as latest_before_window
    from (
        select user_id, first_dt, latest_dt from users_listed_before
        union all
        select user_id, dt as first_dt, null as latest_dt from window_listings
    )
    group by all
),

-- the snapshot days the window's days can fall back on: the window's own and
-- the latest before it (the as-of join below reads no earlier one)
organization_days as (
    select distinct dt from window_listings
    union
    select max(latest_before_window) as dt from listed_users
),

-- each user's latest snapshot before the window, and the window's own: all
-- the as-of join below can pick (it sorts what it reads, and all history is
-- most of a long lake)
readable_organization_users as (
    select * from organization_users
    where dt >= getvariable('window_start')
    union all
    select organization_users.*
    from organization_users
    semi join (
        select user_id, latest_before_window as dt
        from listed_users
        where latest_before_window is not null
    ) as latest_before_window
        using (user_id, dt)
),

organization_events as (
    select * from int_user_lifecycle_events
    where
        dt < getvariable('window_end')
        and user_id is not null
        and event_type like 'organization_%'
),

status_events as (
    select * from organization_events
    where organization_user_status is not null
),

admin_events as (
    select * from organization_events
    where is_organization_admin is not null
),

memberships as (
    select * from user_accounts
    where in_window(dt)
),

activity as (
    select * from int_user_activity_daily
    where in_window(dt)
),

-- the window's identity-provider snapshots and the latest before it: a day
-- reads only the latest on or before it
idp_users as (
    select * from stg_idp__users
    where in_window(dt)
    union all by name
    select * from users_idp_before
    qualify dt = max(dt) over ()
),

domain_days as (
    select
        dt,
        list(host_name order by host_name) filter (where is_active) as hosts
    from stg_docusign__reserved_domains
    where dt < getvariable('window_end')
    group by all
),

-- with, per snapshot day, the earliest snapshot's hosts up to it: what a day
-- whose latest snapshot has no active host falls back to, read as of the day
-- so that every day of a window reads only its own past
domain_snapshots as (
    select
        dt,
        hosts,
        arg_min(hosts, dt) over (
            order by dt rows between unbounded preceding and current row
        ) as first_hosts
    from domain_days
),

---------- per-day aggregates

membership_summary as (
    select
        dt,
        user_id,
        any_value(organization_id) as organization_id,
        arg_max(email, snapshot_taken_at) as email,
        count(*) as account_count,
        count(*) filter (where is_open) as open_account_count,
        count(*) filter (where not is_open) as closed_account_count,
        coalesce(bool_or(is_admin and is_open), false) as is_account_admin,
        -- closed memberships included: a deleted former admin is worth knowing
        coalesce(bool_or(is_admin), false) as was_account_admin,
        list_sort(list(account_id) filter (where is_open))
            as open_account_ids,
        list_sort(list(account_id) filter (where not is_open))
            as closed_account_ids,
        list_sort(list(account_id) filter (where is_admin and is_open))
            as admin_account_ids
    from memberships
    group by all
),

-- days for which membership data exists: without it, "no accounts" means
-- "not extracted", not "closed everywhere"
membership_days as (
    select distinct dt from memberships
),

-- each user's activity before the window folded into a row per span (on the
-- last day of it: users_activity_before, each ended month rolled up once),
-- and the window's own days: the running window below then sorts the
-- window's rows and a row a month, not every day of history
activity_days as (
    select user_id, dt, first_event_at, last_event_at, last_successful_signin_at
    from activity
    union all
    select user_id, dt, first_event_at, last_event_at, last_successful_signin_at
    from users_activity_before
),

activity_running as (
    select
        user_id,
        dt,
        min(first_event_at) over running as first_activity_at,
        max(last_event_at) over running as last_activity_at,
        max(last_successful_signin_at) over running
            as last_successful_signin_at
    from activity_days
    window running as (
        partition by user_id
        order by dt
        rows between unbounded preceding and current row
    )
),

idp_days as (
    select distinct dt from idp_users
),

idp_keys as (
    select dt, email as match_key, idp_user_id, idp_status,
        idp_status_changed_at, idp_lifecycle, snapshot_taken_at
    from idp_users
    where email is not null
    union
    select dt, user_principal_name as match_key, idp_user_id, idp_status,
        idp_status_changed_at, idp_lifecycle, snapshot_taken_at
    from idp_users
    where user_principal_name is not null
),

idp_matches as (
    select
        dt,
        match_key,
        arg_max(idp_user_id, idp_status_changed_at) as idp_user_id,
        arg_max(idp_status, idp_status_changed_at) as idp_status,
        max(idp_status_changed_at) as idp_status_changed_at,
        arg_max(idp_lifecycle, idp_status_changed_at) as idp_lifecycle
    from idp_keys
    group by all
),

-- per window day: the last day on or before it with an organization-user
-- snapshot and with an identity-provider snapshot, and the claimed domains as
-- of it: one row a day, so the day's users hash-join it instead of sorting for
-- three as-of joins
day_sources as (
    select
        days.day,
        listed.dt as latest_organization_dt,
        idp_day.dt as latest_idp_dt,
        coalesce(domains.hosts, domains.first_hosts) as reserved_hosts
    from days
    asof left join organization_days as listed
        on days.day >= listed.dt
    asof left join idp_days as idp_day
        on days.day >= idp_day.dt
    asof left join domain_snapshots as domains
        on days.day >= domains.dt
),

---------- one row per day and user known by then

user_keys as (
    select user_id, min(dt) as first_dt
    from (
        select user_id, first_dt as dt from listed_users
        union all
        select user_id, dt from memberships
        union all
        select user_id, dt from organization_events
    )
    group by all
),

spine as (
    select
        days.day,
        timezone('UTC', (days.day + 1)::timestamp) as day_end,
        user_keys.user_id
    from days
    inner join user_keys
        on user_keys.first_dt <= days.day
),

joined as (
    select
        spine.day,
        spine.user_id,
        snap.organization_id as snapshot_organization_id,
        snap.email as snapshot_email,
        snap.user_name,
        snap.user_status as snapshot_user_status,
        snap.is_organization_admin as snapshot_is_organization_admin,
        snap.snapshot_taken_at,
        snap.dt as snapshot_dt,
        day_sources.latest_organization_dt,
        status_event.event_at as status_event_at,
        status_event.organization_user_status as status_event_status,
        admin_event.event_at as admin_event_at,
        admin_event.is_organization_admin as admin_event_is_admin,
        day_sources.latest_idp_dt,
        day_sources.reserved_hosts
    from spine
    asof left join readable_organization_users as snap
        on spine.user_id = snap.user_id
        and spine.day >= snap.dt
    asof left join status_events as status_event
        on spine.user_id = status_event.user_id
        and spine.day_end > status_event.event_at
    asof left join admin_events as admin_event
        on spine.user_id = admin_event.user_id
        and spine.day_end > admin_event.event_at
    left join day_sources
        on spine.day = day_sources.day
),

resolved as (
    select
        joined.*,
        membership_summary.organization_id as membership_organization_id,
        membership_summary.email as membership_email,
        coalesce(membership_summary.account_count, 0) as account_count,
        coalesce(membership_summary.open_account_count, 0)
            as open_account_count,
        coalesce(membership_summary.closed_account_count, 0)
            as closed_account_count,
        coalesce(membership_summary.is_account_admin, false)
            as is_account_admin,
        coalesce(membership_summary.was_account_admin, false)
            as was_account_admin,
        membership_summary.open_account_ids,
        membership_summary.closed_account_ids,
        membership_summary.admin_account_ids,
        membership_days.dt is not null as has_membership_data,
        case
            when coalesce(
                status_event_at > snapshot_taken_at,
                status_event_at is not null
            )
                then status_event_status
            when snapshot_dt < latest_organization_dt then 'removed'
            else snapshot_user_status
        end as organization_user_status,
        case
            when coalesce(
                admin_event_at > snapshot_taken_at, admin_event_at is not null
            )
                then admin_event_is_admin
            else coalesce(snapshot_is_organization_admin, false)
        end as is_organization_admin
    from joined
    left join membership_summary
        on joined.day = membership_summary.dt
        and joined.user_id = membership_summary.user_id
    left join membership_days
        on joined.day = membership_days.dt
),

final as (
    select
        ---------- keys
        resolved.day as dt,
        resolved.user_id,
        coalesce(snapshot_organization_id, membership_organization_id)
            as organization_id,
        coalesce(snapshot_email, membership_email) as email,
        user_name,
        nullif(lower(split_part(
            coalesce(snapshot_email, membership_email), '@', 2
        )), '') as domain,
        list_contains(
            reserved_hosts,
            lower(split_part(
                coalesce(snapshot_email, membership_email), '@', 2
            ))
        ) as is_managed,

        ---------- state
        case
            when organization_user_status in ('closed', 'removed')
                then 'deleted'
            when has_membership_data and open_account_count = 0 then 'deleted'
            when closed_account_count > 0 then 'partially_active'
            else 'active'
        end as state,
        case
            when organization_user_status in ('closed', 'removed')
                then 'closed_in_organization'
            when has_membership_data and account_count = 0
                then 'no_accounts'
            when has_membership_data and open_account_count = 0
                then 'closed_in_all_accounts'
            when closed_account_count > 0 then 'closed_in_some_accounts'
            when not has_membership_data then 'no_membership_data'
            else 'open_in_all_accounts'
        end as state_reason,
        organization_user_status,
        closed_account_count > 0 as is_closed_in_any_account,

        ---------- admin
        is_organization_admin or is_account_admin as is_admin,
        is_organization_admin,
        is_account_admin,
        admin_account_ids,
        is_organization_admin or was_account_admin
            as admin_in_any_membership,

        ---------- accounts
        account_count,
        open_account_count,
        closed_account_count,
        open_account_ids,
        closed_account_ids,

        ---------- activity
        activity_running.first_activity_at,
        activity_running.last_activity_at,
        activity_running.last_successful_signin_at,

        ---------- identity provider
        case
            when latest_idp_dt is null then null
            else coalesce(idp_matches.idp_status, 'not_reported')
        end as idp_status,
        idp_matches.idp_status_changed_at,
        idp_matches.idp_user_id,
        idp_matches.idp_lifecycle,

        ---------- lineage
        snapshot_dt,
        snapshot_taken_at
    from resolved
    asof left join activity_running
        on resolved.user_id = activity_running.user_id
        and resolved.day >= activity_running.dt
    left join idp_matches
        on resolved.latest_idp_dt = idp_matches.dt
        and coalesce(snapshot_email, membership_email) = idp_matches.match_key
)

select * from final
