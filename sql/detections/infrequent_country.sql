-- infrequent_country
-- grain:       one alert per user and country not used by that user (and,
--              with det_organization_baseline, by anyone else in the
--              organization) in the previous det_baseline_days
-- primary key: alert_id (sha256 of policy, user and the first event from the
--              country)
-- window:      alerts whose first event from the country is in
--              [window_start, window_end); lookback det_baseline_days + 1
-- evaluated:   successful interactive sign-ins (det_evaluate = 'signins'),
--              or every located event except failed and non-interactive
--              sign-ins ('activities'), as MDCA does
-- locations:   only from det_location_sources (default DocuSign's own, not the
--              offline IP database)
-- learning:    no alert until the user and the organization have been seen
--              for det_learning_user_days / det_learning_organization_days
-- lookback:    det_baseline_user_countries for det_lookback_days; events of
--              the day only

with

evaluated as (
    -- the day's evaluated, located events (detection_located holds no
    -- earlier day: this policy has no raw lookback)
    select * from detection_located
),

-- the baseline's rows this policy evaluates (the kinds of det_evaluate, the
-- sources of det_location_sources), for the lookback before the day; without
-- their event times, most of the rows' bytes (see boundary_times)
history as (
    select * exclude (event_times) from detection_country_uses
    where
        dt >= getvariable('window_start')
            - getvariable('det_lookback_days')::integer
        and dt < getvariable('window_start')
),

-- an anchor's baseline starts det_baseline_days before its own time on the
-- day, so it holds every event of the later days (their count) and part of
-- one day, this one: only its rows need their event times (joined to history
-- on the whole key, so history's filters hold for them too)
boundary_times as (
    select * from det_baseline_user_countries
    where
        dt = getvariable('window_start')
            - getvariable('det_baseline_days')::integer
),

-- the last use of each (user, country) before the day (a range run rolls it
-- forward a day at a time), then the day's own order: a window over the day
-- only, not the whole lookback
lookback_last as (
    select user_id, country_code, last_at from detection_country_last_use
),

-- only the columns the window and the baseline joins need: the anchors' others
-- (e-mail, account, city, address) are read for the anchors alone (final), as
-- carrying them through this sort and the materialized evaluated cost about a
-- quarter of a day's run (30 replicated days at 1M events a day: 7.7 s, now 6.0)
with_previous as (
    select
        day_rows.event_id,
        day_rows.event_at,
        day_rows.dt,
        day_rows.user_id,
        day_rows.country_code,
        coalesce(
            lag(day_rows.event_at) over (
                partition by day_rows.user_id, day_rows.country_code
                order by day_rows.event_at, day_rows.event_id
            ),
            lookback_last.last_at
        ) as previous_same_country_at
    from evaluated as day_rows
    left join lookback_last
        on day_rows.user_id = lookback_last.user_id
        and day_rows.country_code = lookback_last.country_code
),

new_country as (
    select with_previous.*
    from with_previous
    inner join detection_first_seen as seen
        on with_previous.user_id = seen.user_id
    where
        with_previous.dt >= getvariable('window_start')
        and (
            previous_same_country_at is null
            -- in microseconds: timestamptz minus timestamptz, compared with
            -- an interval, goes through ICU's calendar for every event
            or epoch_us(event_at) - epoch_us(previous_same_country_at)
            > getvariable('det_baseline_days')::bigint * 86400000000
        )
        and past_learning_period(seen.first_dt, seen.org_first_dt, with_previous.dt)
),

-- every use of a country in an anchor's baseline (the det_baseline_days
-- before its event), by the anchor's user (is_own) or by another user of the
-- anchor's country: the day's events before it, and the baseline rows of
-- earlier days, counting only the events at or after its start on the day
-- the baseline starts. Four equi-joins, not one join on "user or country"
day_uses as (
    select
        new_country.event_id,
        evaluated.user_id = new_country.user_id as is_own,
        evaluated.user_id,
        evaluated.country_code,
        1 as events
    from new_country
    inner join evaluated
        on evaluated.user_id = new_country.user_id
        and in_baseline(evaluated.event_at, new_country.event_at)
    union all
    select
        new_country.event_id,
        false,
        evaluated.user_id,
        evaluated.country_code,
        1
    from new_country
    inner join evaluated
        on evaluated.country_code = new_country.country_code
        and evaluated.user_id <> new_country.user_id
        and in_baseline(evaluated.event_at, new_country.event_at)
),

history_uses as (
    select
        new_country.event_id,
        true as is_own,
        history.user_id,
        history.country_code,
        case
            when boundary_times.dt is null then history.events
            else len(list_filter(
                boundary_times.event_times,
                lambda t: in_baseline(t, new_country.event_at)
            ))
        end as events
    from new_country
    inner join history
        on history.user_id = new_country.user_id
        and history.last_at >= new_country.event_at
            - to_days(getvariable('det_baseline_days'))
    left join boundary_times
        on history.dt = boundary_times.dt
        and history.user_id = boundary_times.user_id
        and history.country_code = boundary_times.country_code
        and history.location_source = boundary_times.location_source
        and history.evaluated_as = boundary_times.evaluated_as
    union all
    -- other users need no count, only a use since the baseline's start: their
    -- last use of the country, one row each (not every day's)
    select
        new_country.event_id,
        false,
        lookback_last.user_id,
        lookback_last.country_code,
        1
    from new_country
    inner join lookback_last
        on lookback_last.country_code = new_country.country_code
        and lookback_last.user_id <> new_country.user_id
        and lookback_last.last_at >= new_country.event_at
            - to_days(getvariable('det_baseline_days'))
),

uses as (
    select * from day_uses
    union all
    select * from history_uses
),

baseline as (
    select
        event_id,
        list(distinct country_code order by country_code)
            as baseline_countries,
        sum(events)::bigint as baseline_events
    from uses
    where is_own
    group by all
),

organization_users as (
    select
        event_id,
        count(distinct user_id) as other_users
    from uses
    where not is_own
    group by all
),

anchors as (
    select
        new_country.*,
        coalesce(baseline.baseline_countries, []) as baseline_countries,
        coalesce(baseline.baseline_events, 0) as baseline_events,
        coalesce(organization_users.other_users, 0) as other_users
    from new_country
    left join baseline on new_country.event_id = baseline.event_id
    left join organization_users
        on new_country.event_id = organization_users.event_id
    where
        not getvariable('det_organization_baseline')
        or coalesce(organization_users.other_users, 0) = 0
),

-- the anchors' users' events of the day: filtered before the as-of join below,
-- which otherwise sorts every event of the day
anchor_user_events as (
    select * from detection_day_events
    where user_id in (select user_id from anchors)
),

-- the user's events from that country on the anchor's day, from the anchor on
incident_events as (
    select
        anchors.event_id as anchor_id,
        activity.*
    from anchor_user_events as activity
    asof inner join anchors
        on activity.user_id = anchors.user_id
        and activity.country_code = anchors.country_code
        and activity.event_at >= anchors.event_at
    where activity.dt = anchors.dt
),

incidents as (
    select
        anchor_id,
        max(event_at) as ended_at,
        incident_event_ids(event_id, event_at) as event_ids,
        sorted_distinct(ip_address) as ip_addresses,
        count(*) as event_count
    from incident_events
    group by all
),

final as (
    select
        anchors.dt,
        anchors.event_id as opening_event_id,
        getvariable('det_severity') as severity,
        'Activity from infrequent country/region' as title,
        printf(
            '%s was active from %s (%s) for the first time in %d days '
            || '(usual: %s). Confirm with the user that they are travelling; '
            || 'if not, suspend them and reset the password.',
            coalesce(opening.user_email, anchors.user_id),
            anchors.country_code,
            coalesce(opening.city, 'unknown city'),
            getvariable('det_baseline_days'),
            coalesce(
                nullif(array_to_string(anchors.baseline_countries, ', '), ''),
                'no located activity'
            )
        ) as description,
        anchors.user_id,
        opening.user_email,
        opening.account_id,
        anchors.event_at as started_at,
        incidents.ended_at,
        incidents.event_ids,
        incidents.ip_addresses,
        [anchors.country_code] as countries,
        to_json({
            'country': anchors.country_code,
            'city': opening.city,
            'ip_address': opening.ip_address,
            'baseline_days': getvariable('det_baseline_days'),
            'baseline_countries': anchors.baseline_countries,
            'baseline_events': anchors.baseline_events,
            'last_seen_in_country_at': anchors.previous_same_country_at,
            'organization_users_in_country': anchors.other_users,
            'organization_baseline': getvariable('det_organization_baseline'),
            'events_from_country_that_day': incidents.event_count
        })::varchar as evidence
    from anchors
    inner join incidents on anchors.event_id = incidents.anchor_id
    -- the anchor's own row of the day (an anchor is an event of the day)
    inner join anchor_user_events as opening
        on anchors.event_id = opening.event_id
)

select * from final
