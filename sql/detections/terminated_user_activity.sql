-- terminated_user_activity
-- grain:       one alert per user and termination: the DocuSign activity
--              after the identity provider deleted or disabled the user
-- primary key: alert_id (sha256 of policy, user and the first such event)
-- window:      alerts whose first post-termination event is in
--              [window_start, window_end); lookback
--              det_realert_after_days of int_user_activity_daily, the
--              per-user daily baseline (so a user still active the next day
--              raises nothing new); events of the day only
-- terminated:  the latest identity-provider snapshot on or before the day
--              lists the user (by any of its addresses: mail, UPN, the UPN
--              without Entra's deleted-user prefix, otherMails,
--              proxyAddresses; see stg_idp__users) as deleted or disabled, and
--              the event is at or after that status change. A user the IdP
--              no longer lists was re-enabled or restored (MDCA: temporarily
--              disabled, or deleted and registered again, is benign), unless
--              the last listing was a deletion already det_recycle_bin_days
--              old: Entra ID purges deleted users then, which is not a
--              restore.
-- re-hired:    DocuSign re-added or reactivated the user after the
--              termination (membership_opened / membership_reopened /
--              organization_user_added): no alert from then on

with

-- the identity provider's history before the day comes as its parts
-- (sql/detections/terminated_user_activity/, Detection.history): the latest
-- snapshot, the first listing of each address and status, and each address's
-- last listing, of each span of days before the window, each ended month
-- rolled up once. Every snapshot read again made this policy grow with the
-- lake (1.5 s of each day's run after a year of snapshots)
window_snapshots as (
    select * from stg_idp__users
    where dt >= getvariable('window_start') and dt < getvariable('window_end')
),

latest_snapshots as (
    select * from terminated_idp_latest_before
    union all by name
    select * from window_snapshots
),

latest_snapshot as (
    select max(dt) as dt from latest_snapshots
),

-- the terminated addresses the latest snapshots of the history and the
-- window's snapshots list
latest_listings as (
    select * from terminated_listings(latest_snapshots)
),

-- the window's own listings
idp as (
    select * from latest_listings
    where dt >= getvariable('window_start')
),

first_listed as (
    select email, idp_status, min(first_listed_at) as first_listed_at
    from (
        select email, idp_status, first_listed_at
        from terminated_idp_first_listed_before
        union all
        select email, idp_status, snapshot_taken_at from idp
    )
    group by all
),

listed_now as (
    select
        latest.email,
        -- an undated status (no audit log) still counts: it sorts first
        arg_max(
            latest.idp_user_id, coalesce(latest.idp_status_changed_at, 'epoch')
        ) as idp_user_id,
        arg_max(
            latest.idp_status, coalesce(latest.idp_status_changed_at, 'epoch')
        ) as idp_status,
        max(latest.idp_status_changed_at) as idp_status_changed_at,
        arg_max(
            latest.idp_status_changed_at_source,
            coalesce(latest.idp_status_changed_at, 'epoch')
        ) as idp_status_changed_at_source,
        false as purged
    from latest_listings as latest
    inner join latest_snapshot on latest.dt = latest_snapshot.dt
    group by all
),

last_listing as (
    select
        email,
        arg_max(idp_user_id, dt) as idp_user_id,
        arg_max(idp_status, dt) as idp_status,
        arg_max(idp_status_changed_at, dt) as idp_status_changed_at,
        arg_max(idp_status_changed_at_source, dt) as idp_status_changed_at_source,
        arg_max(snapshot_taken_at, dt) as snapshot_taken_at,
        max(dt) as dt
    from (
        select * from terminated_idp_last_listed_before
        union all by name
        select * from idp
    )
    group by all
),

purged as (
    select
        email,
        idp_user_id,
        idp_status,
        idp_status_changed_at,
        idp_status_changed_at_source,
        true as purged
    from last_listing
    where
        dt < (select dt from latest_snapshot)
        and idp_status = 'deleted'
        and snapshot_taken_at >= idp_status_changed_at
        + to_days(getvariable('det_recycle_bin_days') - 1)
),

terminated as (
    select
        candidates.*,
        coalesce(
            candidates.idp_status_changed_at, first_listed.first_listed_at
        ) as terminated_at,
        -- what the time is: the IdP's own date, or only when we first saw it
        case
            when candidates.idp_status_changed_at is not null
                then coalesce(
                    candidates.idp_status_changed_at_source, 'identity_provider'
                )
            else 'first_snapshot_listing_the_user'
        end as terminated_at_source
    from (
        select * from listed_now
        union all by name
        select * from purged
    ) as candidates
    left join first_listed
        on candidates.email = first_listed.email
        and candidates.idp_status = first_listed.idp_status
),

rehires as (
    select user_id, event_at as rehired_at
    from int_user_lifecycle_events
    where
        event_type in (
            'membership_opened', 'membership_reopened',
            'organization_user_added'
        )
        and dt < getvariable('window_end')
),

after_termination as (
    select
        activity.*,
        terminated.idp_user_id,
        terminated.idp_status,
        terminated.terminated_at,
        terminated.terminated_at_source,
        terminated.purged
    from detection_activity as activity
    inner join terminated
        on activity.user_email = terminated.email
        and activity.event_at >= terminated.terminated_at
        and activity.user_email is not null
    where not exists (
        select 1 from rehires
        where
            rehires.user_id = activity.user_id
            and rehires.rehired_at > terminated.terminated_at
            and rehires.rehired_at <= activity.event_at
    )
),

firsts as (
    select
        user_id,
        terminated_at,
        arg_min(event_id, (event_at, event_id)) as anchor_id,
        min(event_at) as first_at,
        min(dt) as first_dt
    from after_termination
    group by all
),

-- any activity after the termination on an earlier day of the lookback means
-- the incident was alerted then (the small per-user daily summary says so:
-- no earlier events are read)
earlier_activity as (
    select distinct firsts.user_id, firsts.terminated_at
    from firsts
    inner join int_user_activity_daily as daily
        on firsts.user_id = daily.user_id
        and daily.dt >= cast(firsts.terminated_at as date)
        and daily.dt < getvariable('window_start')
        and daily.dt >= getvariable('window_start')
            - getvariable('det_realert_after_days')::integer
        and daily.last_event_at >= firsts.terminated_at
),

anchors as (
    select firsts.* from firsts
    where
        first_dt >= getvariable('window_start')
        and not exists (
            select 1 from earlier_activity
            where
                earlier_activity.user_id = firsts.user_id
                and earlier_activity.terminated_at = firsts.terminated_at
        )
),

incidents as (
    select
        anchors.anchor_id,
        any_value(after_termination.user_email) as user_email,
        arg_min(after_termination.account_id, after_termination.event_at)
            as account_id,
        any_value(after_termination.idp_user_id) as idp_user_id,
        any_value(after_termination.idp_status) as idp_status,
        any_value(after_termination.terminated_at_source)
            as terminated_at_source,
        bool_or(after_termination.purged) as purged,
        max(after_termination.event_at) as ended_at,
        incident_event_ids(
            after_termination.event_id, after_termination.event_at
        ) as event_ids,
        sorted_distinct(after_termination.ip_address) as ip_addresses,
        sorted_distinct(after_termination.country_code) as countries,
        sorted_distinct(
            after_termination.object || '/' || after_termination.action
        ) as activities,
        count(*) as event_count
    from anchors
    inner join after_termination
        on anchors.user_id = after_termination.user_id
        and anchors.terminated_at = after_termination.terminated_at
        and after_termination.dt = anchors.first_dt
    group by all
),

final as (
    select
        anchors.first_dt as dt,
        anchors.anchor_id as opening_event_id,
        getvariable('det_severity') as severity,
        'Activity performed by terminated user' as title,
        printf(
            '%s was %s in the identity provider at %s UTC but performed %d '
            || 'DocuSign event(s) afterwards (%s) from %s. Close their '
            || 'DocuSign memberships and review what they sent, signed or '
            || 'downloaded.',
            incidents.user_email,
            incidents.idp_status,
            strftime(anchors.terminated_at, '%Y-%m-%d %H:%M'),
            incidents.event_count,
            array_to_string(incidents.activities, ', '),
            coalesce(
                nullif(array_to_string(incidents.ip_addresses, ', '), ''),
                'no IP'
            )
        ) as description,
        anchors.user_id,
        incidents.user_email,
        incidents.account_id,
        anchors.first_at as started_at,
        incidents.ended_at,
        incidents.event_ids,
        incidents.ip_addresses,
        incidents.countries,
        to_json({
            'idp_user_id': incidents.idp_user_id,
            'idp_status': incidents.idp_status,
            'terminated_at': anchors.terminated_at,
            'terminated_at_source': incidents.terminated_at_source,
            'purged_from_recycle_bin': incidents.purged,
            'minutes_after_termination':
                round(epoch(anchors.first_at - anchors.terminated_at) / 60),
            'activities': incidents.activities,
            'event_count': incidents.event_count
        })::varchar as evidence
    from anchors
    inner join incidents on anchors.anchor_id = incidents.anchor_id
)

select * from final
