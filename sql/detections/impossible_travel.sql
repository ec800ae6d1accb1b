-- impossible_travel
-- grain:       one alert per incident: a pair of a user's consecutive
--              evaluated events from places too far apart for the time
--              between them; further qualifying pairs of that user within
--              det_dedup_hours belong to the same incident
-- primary key: alert_id (sha256 of policy, user and the pair's later event)
-- window:      alerts whose first pair ends in [window_start, window_end);
--              lookback det_baseline_days + dedup days + 1
-- evaluated:   successful interactive sign-ins (det_evaluate = 'signins') or
--              every located event except failed/non-interactive sign-ins
-- system suppressions (always): same IP, missing location, same country or
--              bordering countries (MDCA compares countries), a Cloud
--              provider range on either side, less than det_min_distance_km,
--              not faster than det_max_speed_kmh, learning period
-- sensitivity: high   = system suppressions only
--              medium = also both sides Corporate/VPN ("trusted travel") and
--                       user suppression: the destination country is one the
--                       user used on det_user_common_min_days days of the
--                       baseline
--              low    = also tenant suppression: det_tenant_common_min_users
--                       other users used the destination country
-- locations:   only from det_location_sources (default DocuSign's own, not the
--              offline IP database)
-- distance:    haversine on a 6371 km sphere; hours floored at 0.0001 (Panther)
-- lookback:    det_baseline_user_countries for det_lookback_days (how the
--              baseline used the destination country); events of the
--              det_raw_lookback_days (dedup days + 2) for the pairs and the
--              incidents they continue

with

evaluated as not materialized (
    -- the day and its raw lookback (read twice, each time with only the
    -- columns and rows that read needs)
    select * from detection_located
    where
        latitude is not null and longitude is not null
        -- a pair whose earlier side is over a day older than the chain's
        -- range cannot be impossible at 834 km/h or more (half the Earth's
        -- circumference in 24 h), so older events are not paired
        and dt >= getvariable('window_start')
            - (ceil(getvariable('det_dedup_hours') / 24) + 2)::integer
),

-- only a user located in two countries among these events has a pair from
-- different countries (every later step keeps only those): the others' rows,
-- most of the million a day, skip the window
travellers as (
    select user_id
    from evaluated
    group by user_id
    having count(distinct country_code) > 1
),

pairs as (
    select
        lag(event_id) over w as from_event_id,
        lag(event_at) over w as from_at,
        lag(ip_address) over w as from_ip,
        lag(ip_hex) over w as from_ip_hex,
        lag(country_code) over w as from_country,
        lag(city) over w as from_city,
        lag(latitude) over w as from_latitude,
        lag(longitude) over w as from_longitude,
        lag(org_category) over w as from_category,
        lag(is_trusted_ip) over w as from_trusted,
        lag(is_listed_ip) over w as from_listed,
        *
    from evaluated
    where user_id in (select user_id from travellers)
    window w as (partition by user_id order by event_at, event_id)
),

measured as (
    select
        *,
        2 * 6371 * asin(sqrt(
            pow(sin(radians(latitude - from_latitude) / 2), 2)
            + cos(radians(from_latitude)) * cos(radians(latitude))
            * pow(sin(radians(longitude - from_longitude) / 2), 2)
        )) as distance_km,
        greatest(epoch(event_at - from_at) / 3600.0, 0.0001) as hours
    from pairs
    where
        from_event_id is not null
        and from_ip_hex is distinct from ip_hex
        and from_country <> country_code
        and dt >= getvariable('window_start')
            - (ceil(getvariable('det_dedup_hours') / 24) + 1)::integer
),

candidates as (
    select
        measured.*,
        distance_km / hours as speed_kmh
    from measured
    inner join detection_first_seen as seen
        on measured.user_id = seen.user_id
    where
        not exists (
            select 1 from country_borders
            where
                country_borders.country_a = measured.from_country
                and country_borders.country_b = measured.country_code
        )
        and coalesce(from_category, '') <> 'cloud_provider'
        and coalesce(org_category, '') <> 'cloud_provider'
        and distance_km >= getvariable('det_min_distance_km')
        and distance_km / hours > getvariable('det_max_speed_kmh')
        and past_learning_period(seen.first_dt, seen.org_first_dt, measured.dt)
        and (
            getvariable('det_sensitivity') = 'high'
            or not (from_trusted and is_trusted_ip)
        )
),

-- the baseline's rows of the events this policy pairs (evaluated, located,
-- with coordinates), for the lookback, in the candidates' destination
-- countries: both readers below join on one, and on a day without candidates
-- nothing of the ~30 days is read or kept
history as (
    select dt, user_id, country_code
    from detection_country_uses
    where
        dt >= getvariable('window_start')
            - getvariable('det_lookback_days')::integer
        and dt < getvariable('window_start')
        and located_events > 0
        and country_code in (select country_code from candidates)
),

-- how many users used each destination country in the baseline of each
-- candidate day: once per (day, country), not once per candidate
country_users as (
    select
        destinations.dt,
        destinations.country_code,
        count(distinct history.user_id) as users_in_country
    from (select distinct dt, country_code from candidates) as destinations
    inner join history
        on destinations.country_code = history.country_code
        and in_baseline(history.dt, destinations.dt)
    group by all
),

-- how much the baseline used the destination country: the user's own days
-- there, and how many other users were there
destination_use as (
    select
        candidates.event_id,
        count(distinct history.dt) as user_days_in_country,
        any_value(country_users.users_in_country)
            - (count(history.dt) > 0)::integer as tenant_users_in_country
    from candidates
    inner join country_users
        on candidates.dt = country_users.dt
        and candidates.country_code = country_users.country_code
    left join history
        on candidates.user_id = history.user_id
        and candidates.country_code = history.country_code
        and in_baseline(history.dt, candidates.dt)
    group by all
),

qualifying as (
    select
        candidates.*,
        coalesce(destination_use.user_days_in_country, 0)
            as user_days_in_country,
        coalesce(destination_use.tenant_users_in_country, 0)
            as tenant_users_in_country
    from candidates
    left join destination_use
        on candidates.event_id = destination_use.event_id
    where
        (
            getvariable('det_sensitivity') = 'high'
            or coalesce(destination_use.user_days_in_country, 0)
            < getvariable('det_user_common_min_days')
        )
        and (
            getvariable('det_sensitivity') <> 'low'
            or coalesce(destination_use.tenant_users_in_country, 0)
            < getvariable('det_tenant_common_min_users')
        )
),

chained as (
    select
        *,
        lag(event_at) over (
            partition by user_id order by event_at, event_id
        ) as previous_pair_at
    from qualifying
),

anchors as (
    select * from chained
    where
        dt >= getvariable('window_start')
        and (
            previous_pair_at is null
            or event_at - previous_pair_at
            > to_hours(getvariable('det_dedup_hours'))
        )
),

incident_pairs as (
    select
        anchors.event_id as anchor_id,
        qualifying.*
    from qualifying
    asof inner join anchors
        on qualifying.user_id = anchors.user_id
        and qualifying.event_at >= anchors.event_at
    where qualifying.dt = anchors.dt
),

incident_events as (
    select distinct
        anchor_id,
        from_event_id as event_id,
        from_at as event_at,
        from_ip as ip_address,
        from_country as country_code
    from incident_pairs
    union
    select
        anchor_id,
        event_id,
        event_at,
        ip_address,
        country_code
    from incident_pairs
),

pair_counts as (
    select anchor_id, count(*) as pairs, max(event_at) as ended_at
    from incident_pairs
    group by all
),

incidents as (
    select
        incident_events.anchor_id,
        any_value(pair_counts.pairs) as pairs,
        any_value(pair_counts.ended_at) as ended_at,
        incident_event_ids(incident_events.event_id, incident_events.event_at)
            as event_ids,
        sorted_distinct(incident_events.ip_address) as ip_addresses,
        sorted_distinct(incident_events.country_code) as countries
    from incident_events
    inner join pair_counts
        on incident_events.anchor_id = pair_counts.anchor_id
    group by all
),

final as (
    select
        anchors.dt,
        anchors.event_id as opening_event_id,
        case
            when anchors.from_listed or anchors.is_listed_ip then 'high'
            else getvariable('det_severity')
        end as severity,
        'Impossible travel activity' as title,
        printf(
            '%s was active in %s (%s) and %.0f minutes later in %s (%s), '
            || '%.0f km away (%.0f km/h). If the user is not on a VPN or '
            || 'sharing the account, treat the credentials as stolen: '
            || 'suspend the user and reset the password.',
            coalesce(anchors.user_email, anchors.user_id),
            coalesce(anchors.from_city || ', ', '') || anchors.from_country,
            anchors.from_ip,
            anchors.hours * 60,
            coalesce(anchors.city || ', ', '') || anchors.country_code,
            anchors.ip_address,
            anchors.distance_km,
            anchors.speed_kmh
        ) as description,
        anchors.user_id,
        anchors.user_email,
        anchors.account_id,
        anchors.from_at as started_at,
        incidents.ended_at,
        incidents.event_ids,
        incidents.ip_addresses,
        incidents.countries,
        to_json({
            'distance_km': round(anchors.distance_km, 1),
            'speed_kmh': round(anchors.speed_kmh, 1),
            'minutes': round(anchors.hours * 60, 1),
            'from': {
                'event_id': anchors.from_event_id,
                'at': anchors.from_at,
                'ip_address': anchors.from_ip,
                'country': anchors.from_country,
                'city': anchors.from_city,
                'latitude': anchors.from_latitude,
                'longitude': anchors.from_longitude,
                'ip_category': anchors.from_category
            },
            'to': {
                'event_id': anchors.event_id,
                'at': anchors.event_at,
                'ip_address': anchors.ip_address,
                'country': anchors.country_code,
                'city': anchors.city,
                'latitude': anchors.latitude,
                'longitude': anchors.longitude,
                'ip_category': anchors.org_category
            },
            'sensitivity': getvariable('det_sensitivity'),
            'user_days_in_destination_country':
                anchors.user_days_in_country,
            'other_users_in_destination_country':
                anchors.tenant_users_in_country,
            'pairs_in_incident': incidents.pairs
        })::varchar as evidence
    from anchors
    inner join incidents on anchors.event_id = incidents.anchor_id
)

select * from final
