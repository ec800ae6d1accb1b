-- user_accounts
-- grain:       one row per (user, account) membership per day: its state at
--              the end of that day (the daily rows are its history)
-- primary key: (dt, user_id, account_id)
-- window:      window_start <= dt < window_end
-- lookbacks:   every snapshot and lifecycle event before window_end; each
--              day uses the latest snapshot on or before it, then applies
--              lifecycle events that happened after that snapshot was taken;
--              the listings' history as user_accounts_listed_before,
--              _sources_before and _profiles_before (user_accounts/), each
--              ended month rolled up once
-- sources:     Admin API memberships; eSignature account users where the
--              Admin API has no row for that day (int_membership_listings
--              says which, for every day of history); int_user_lifecycle_events
-- status:      the snapshot's (active, closed, activation_sent, ...), or
--              'removed' when newer snapshots of that account no longer list it

with

days as (
    select day from window_days()
),

admin_memberships as not materialized (
    select
        user_id,
        account_id,
        organization_id,
        email,
        account_name,
        status,
        is_admin,
        permission_profile_id,
        permission_profile_name,
        created_at,
        closed_at,
        snapshot_taken_at,
        dt,
        'admin_api' as snapshot_source
    from stg_docusign__memberships
    where
        dt < getvariable('window_end')
        and user_id is not null
        and account_id is not null
),

esignature_users as not materialized (
    select
        user_id,
        account_id,
        null::varchar as organization_id,
        email,
        null::varchar as account_name,
        status,
        is_admin,
        permission_profile_id,
        permission_profile_name,
        added_to_account_at as created_at,
        null::timestamptz as closed_at,
        snapshot_taken_at,
        dt,
        'esignature_api' as snapshot_source
    from stg_docusign__account_users
    where
        dt < getvariable('window_end')
        and user_id is not null
        and account_id is not null
),

lifecycle as (
    select * from int_user_lifecycle_events
    where
        dt < getvariable('window_end')
        and user_id is not null
        and account_id is not null
        and event_type in (
            'membership_opened',
            'membership_reopened',
            'membership_closed',
            'permission_profile_changed'
        )
),

---------- snapshots: Admin API first, eSignature fills the gaps

-- which source listed each membership on each day, on the few columns that
-- history is read for (int_membership_listings, one day's snapshots each,
-- already cleaned): only the snapshots the window's days read carry all their
-- columns (readable_snapshots). The days before the window are read as
-- user_accounts_*_before, each ended month rolled up once
-- (dsassets/lib/transform/history.py), except for the rows readable_rows
-- picks. Not materialized: each reader below scans the columns it needs
snapshot_rows as not materialized (
    select * from int_membership_listings
    where dt < getvariable('window_end')
),

window_rows as not materialized (
    select * from snapshot_rows
    where dt >= getvariable('window_start')
),

-- the days each source listed each account, to tell "gone" from "not taken":
-- the window's, and each span's last before it
source_days as (
    select distinct snapshot_source, account_id, dt
    from window_rows
    union all
    select snapshot_source, account_id, dt
    from user_accounts_sources_before
),

-- each profile's name and admin flag as last listed on or before each day
-- (latest snapshot_taken_at wins), so every day of a window reads only its
-- own past and a range is computed in one pass: the window's days
-- (user_accounts_profile_days), and a row per span before it
-- (user_accounts_profiles_before)
profile_days as (
    select * from user_accounts_profile_days
    where dt >= getvariable('window_start')
    union all by name
    select * from user_accounts_profiles_before
),

profiles as (
    select
        account_id,
        permission_profile_id,
        dt,
        arg_max(permission_profile_name, name_taken_at) over listed
            as permission_profile_name,
        arg_max(is_admin, admin_taken_at) over listed as is_admin
    from profile_days
    window listed as (
        partition by account_id, permission_profile_id
        order by dt
        rows between unbounded preceding and current row
    )
),

-- the last day on or before each of the window's days that each source listed
-- each account, and each profile as last listed by then: small (days x
-- accounts x sources, days x profiles), so the day's memberships hash-join
-- them instead of sorting for an as-of join
listed_days as (
    select
        days.day,
        source_days.snapshot_source,
        source_days.account_id,
        max(source_days.dt) as latest_source_dt
    from days
    inner join source_days
        on source_days.dt <= days.day
    group by all
),

profiles_as_of as (
    select
        latest.day,
        profiles.account_id,
        profiles.permission_profile_id,
        profiles.permission_profile_name,
        profiles.is_admin
    from (
        select
            days.day,
            profiles.account_id,
            profiles.permission_profile_id,
            max(profiles.dt) as dt
        from days
        inner join profiles
            on profiles.dt <= days.day
        group by all
    ) as latest
    inner join profiles
        using (account_id, permission_profile_id, dt)
),

status_events as (
    select * from lifecycle where membership_status is not null
),

open_events as (
    select * from lifecycle where membership_status = 'active'
),

close_events as (
    select * from lifecycle where membership_status = 'closed'
),

profile_events as (
    select * from lifecycle
    where
        event_type = 'permission_profile_changed'
        and permission_profile_id is not null
),

---------- one row per day and membership known by then

-- per listed membership, the first day a listing has it and its latest
-- listing before the window
listed_memberships as (
    select
        user_id,
        account_id,
        min(first_dt) as first_dt,
        max(latest_dt) as latest_before_window
    from (
        select user_id, account_id, first_dt, latest_dt
        from user_accounts_listed_before
        union all
        select user_id, account_id, dt as first_dt, null as latest_dt
        from window_rows
    )
    group by all
),

membership_keys as (
    select
        user_id,
        account_id,
        min(first_dt) as first_dt
    from (
        select user_id, account_id, first_dt from listed_memberships
        union all
        select user_id, account_id, dt as first_dt from lifecycle
    )
    group by all
),

spine as (
    select
        days.day,
        timezone('UTC', (days.day + 1)::timestamp) as day_end,
        membership_keys.user_id,
        membership_keys.account_id
    from days
    inner join membership_keys
        on membership_keys.first_dt <= days.day
),

-- the snapshot rows the window's days can read: each membership's latest
-- before the window, and the window's own (the as-of join below sorts what
-- it reads, and all history is most of a long lake)
latest_before_window as (
    select user_id, account_id, latest_before_window as dt
    from listed_memberships
    where latest_before_window is not null
),

readable_rows as (
    select snapshot_source, user_id, account_id, dt
    from window_rows
    union all
    select snapshot_source, user_id, account_id, dt
    from snapshot_rows
    semi join latest_before_window
        using (user_id, account_id, dt)
),

readable_snapshots as (
    select admin_memberships.*
    from admin_memberships
    semi join readable_rows
        using (snapshot_source, user_id, account_id, dt)
    union all by name
    select esignature_users.*
    from esignature_users
    semi join readable_rows
        using (snapshot_source, user_id, account_id, dt)
),

-- lifecycle events as of each day, for the few memberships that have any
-- (the rest read none): joined on narrow rows, then to the spine by key
event_spine as (
    select spine.*
    from spine
    semi join (select distinct user_id, account_id from lifecycle) as keyed
        using (user_id, account_id)
),

event_state as (
    select
        event_spine.day,
        event_spine.user_id,
        event_spine.account_id,
        status_event.event_at as status_event_at,
        status_event.event_type as status_event_type,
        status_event.membership_status as status_event_status,
        status_event.organization_id as status_event_organization_id,
        open_event.event_at as last_opened_event_at,
        close_event.event_at as last_closed_event_at,
        profile_event.event_at as profile_event_at,
        profile_event.permission_profile_id as profile_event_profile_id
    from event_spine
    asof left join status_events as status_event
        on event_spine.user_id = status_event.user_id
        and event_spine.account_id = status_event.account_id
        and event_spine.day_end > status_event.event_at
    asof left join open_events as open_event
        on event_spine.user_id = open_event.user_id
        and event_spine.account_id = open_event.account_id
        and event_spine.day_end > open_event.event_at
    asof left join close_events as close_event
        on event_spine.user_id = close_event.user_id
        and event_spine.account_id = close_event.account_id
        and event_spine.day_end > close_event.event_at
    asof left join profile_events as profile_event
        on event_spine.user_id = profile_event.user_id
        and event_spine.account_id = profile_event.account_id
        and event_spine.day_end > profile_event.event_at
),

joined as (
    select
        spine.day,
        spine.user_id,
        spine.account_id,
        snap.organization_id,
        snap.email,
        snap.account_name,
        snap.status as snapshot_status,
        snap.is_admin as snapshot_is_admin,
        snap.permission_profile_id as snapshot_profile_id,
        snap.permission_profile_name as snapshot_profile_name,
        snap.created_at as snapshot_created_at,
        snap.closed_at as snapshot_closed_at,
        snap.snapshot_taken_at,
        snap.snapshot_source,
        snap.dt as snapshot_dt,
        listed.latest_source_dt,
        event_state.* exclude (day, user_id, account_id)
    from spine
    asof left join readable_snapshots as snap
        on spine.user_id = snap.user_id
        and spine.account_id = snap.account_id
        and spine.day >= snap.dt
    left join listed_days as listed
        on spine.day = listed.day
        and snap.snapshot_source = listed.snapshot_source
        and spine.account_id = listed.account_id
    left join event_state
        on spine.day = event_state.day
        and spine.user_id = event_state.user_id
        and spine.account_id = event_state.account_id
),

resolved as (
    select
        joined.*,
        coalesce(
            status_event_at > snapshot_taken_at, status_event_at is not null
        ) as status_from_event,
        coalesce(
            profile_event_at > snapshot_taken_at, profile_event_at is not null
        ) as profile_from_event,
        snapshot_dt < latest_source_dt as is_absent_from_snapshot
    from joined
),

state as (
    select
        ---------- keys
        resolved.day as dt,
        resolved.user_id,
        resolved.account_id,
        coalesce(resolved.organization_id, status_event_organization_id)
            as organization_id,
        resolved.email,
        resolved.account_name,

        ---------- state at the end of the day
        case
            when status_from_event then status_event_status
            when is_absent_from_snapshot then 'removed'
            else snapshot_status
        end as status,
        case
            when status_from_event then 'lifecycle_event'
            when is_absent_from_snapshot then 'absent_from_snapshot'
            else 'snapshot'
        end as status_source,
        case
            when profile_from_event
                then coalesce(profiles.is_admin, snapshot_is_admin)
            else snapshot_is_admin
        end as is_admin,
        case
            when profile_from_event then profile_event_profile_id
            else snapshot_profile_id
        end as permission_profile_id,
        case
            when profile_from_event then profiles.permission_profile_name
            else snapshot_profile_name
        end as permission_profile_name,

        ---------- history
        greatest(last_opened_event_at, snapshot_created_at) as opened_at,
        last_closed_event_at,
        snapshot_closed_at,
        status_event_type as last_lifecycle_event_type,
        status_event_at as last_lifecycle_event_at,
        snapshot_dt,
        snapshot_taken_at,
        snapshot_source
    from resolved
    left join profiles_as_of as profiles
        on resolved.day = profiles.day
        and resolved.account_id = profiles.account_id
        and resolved.profile_event_profile_id = profiles.permission_profile_id
),

final as (
    select
        state.* exclude (last_closed_event_at, snapshot_closed_at),
        status not in ('closed', 'removed', 'disabled') as is_open,
        case
            when status in ('closed', 'removed', 'disabled')
                then greatest(last_closed_event_at, snapshot_closed_at)
        end as closed_at
    from state
)

select * from final
