-- ip_reputation: the anonymous_ip and suspicious_ip policies
-- grain:       one alert per incident: a user's activity from one flagged IP,
--              opened by a flagged sign-in with no earlier flagged sign-in of
--              that user from that IP within det_dedup_hours
-- primary key: alert_id (sha256 of policy, user and the opening event)
-- window:      alerts whose opening sign-in is in [window_start, window_end);
--              lookback det_widely_used_days of det_baseline_ip_users for the
--              widely-used-IP suppression, and events of the
--              det_raw_lookback_days (the de-duplication window) for the
--              flagged events that may have opened the incident already
-- flagged:     anonymous_ip  = an anonymous_ip list (Tor exits, anonymizers)
--                              or DocuSign proxyType in det_proxy_types
--              suspicious_ip = a suspicious_ip list (threat intelligence) or
--                              an organization range of category 'risky'
-- evaluated:   det_evaluate = 'activities' (MDCA: "activity from"): every
--              event from the address except sign-ins whose class is not in
--              det_signin_classes (failed and non-interactive by default);
--              'signins': only sign-ins of det_signin_classes
-- never:       IPs in the organization's corporate or VPN ranges (a custom
--              tag wins over a built-in one); IPs where at least
--              det_widely_used_min_users other users of the organization
--              signed in successfully and interactively on 2 or more days
--              within det_widely_used_days (MDCA drops such mis-tagged IPs;
--              failures and one-off sign-ins do not count: an attacker makes
--              those, and must not be able to switch the alert off)

with

-- only the columns the chain and its filters need: the anchors' others (who,
-- what, where) are read for the anchors alone (final). Decoded for every
-- candidate sign-in of the day and the lookback, they made suspicious_ip's 30
-- replicated days at 1M events a day take 3.5-3.9 s instead of 3.4 s
signins as (
    select
        event_id,
        event_at,
        dt,
        user_id,
        ip_hex,
        case getvariable('det_policy')
            when 'anonymous_ip' then anonymous_matches
            else suspicious_matches
        end as matched_lists,
        getvariable('det_policy') = 'anonymous_ip'
        and list_contains(
            getvariable('det_proxy_types'), lower(trim(proxy_type))
        ) as proxy_flagged,
        getvariable('det_policy') = 'suspicious_ip'
        and coalesce(org_category = 'risky', false) as org_risky
    from detection_activity as activity
    where
        (
            anonymous_matches is not null
            or suspicious_matches is not null
            or org_category = 'risky'
            or coalesce(proxy_type, '') <> ''
        )
        and (
            list_contains(getvariable('det_signin_classes'), signin_class)
            or (getvariable('det_evaluate') = 'activities' and signin_class is null)
        )
        and not is_trusted_ip
),

flagged as (
    select * from signins
    where
        coalesce(len(matched_lists), 0) > 0
        or proxy_flagged
        or org_risky
),

-- the organization's own users (known to its directory) who signed in
-- successfully and interactively from the address on at least two days: the
-- baseline's days of the window before the day, and the day's own sign-ins
ip_regulars as (
    select ip_hex, list(user_id order by user_id) as regulars
    from (
        select ip_hex, user_id
        from (
            select dt, ip_hex, user_id from det_baseline_ip_users
            where
                dt >= getvariable('window_start')
                    - getvariable('det_widely_used_days')::integer
                and dt < getvariable('window_start')
            union all
            select dt, ip_hex, user_id from detection_day_events
            where
                signin_class = 'interactive_success'
                and user_email is not null
        ) as days_on_ip
        where ip_hex in (select ip_hex from flagged)
        group by all
        having count(distinct dt) >= 2
    )
    group by all
),

kept as (
    select
        flagged.*,
        -- never the alert's own user
        coalesce(list_filter(
            ip_regulars.regulars, lambda regular: regular <> flagged.user_id
        ), []) as other_regulars,
        len(other_regulars) as users_on_ip
    from flagged
    left join ip_regulars on flagged.ip_hex = ip_regulars.ip_hex
    where users_on_ip < getvariable('det_widely_used_min_users')
),

chained as (
    select
        *,
        lag(event_at) over (
            partition by user_id, ip_hex order by event_at, event_id
        ) as previous_flagged_at,
        count(*) over (
            partition by user_id, ip_hex, dt
        ) as flagged_signins_that_day
    from kept
),

anchors as (
    select * from chained
    where
        previous_flagged_at is null
        or event_at - previous_flagged_at
        > to_hours(getvariable('det_dedup_hours'))
),

-- the anchors' users' events of the day: filtered before the as-of join below,
-- which otherwise sorts every event of the day
anchor_user_events as (
    select * from detection_day_events
    where user_id in (select user_id from anchors)
),

-- every event of the user from that IP, on the anchor's day, from the anchor
-- until the next anchor
incident_events as (
    select
        anchors.event_id as anchor_id,
        activity.*
    from anchor_user_events as activity
    asof inner join anchors
        on activity.user_id = anchors.user_id
        and activity.ip_hex = anchors.ip_hex
        and activity.event_at >= anchors.event_at
    where
        activity.dt = anchors.dt
        and anchors.dt >= getvariable('window_start')
),

incidents as (
    select
        anchor_id,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        incident_event_ids(event_id, event_at) as event_ids,
        sorted_distinct(country_code) as countries,
        count(*) as event_count
    from incident_events
    group by all
),

final as (
    select
        anchors.dt,
        anchors.event_id as opening_event_id,
        getvariable('det_severity') as severity,
        case getvariable('det_policy')
            when 'anonymous_ip' then 'Activity from anonymous IP address'
            else 'Activity from suspicious IP address'
        end as title,
        printf(
            '%s %s %s (%s), %s, and performed %d DocuSign '
            || 'event(s) from it. Unless this is a sanctioned test, suspend '
            || 'the user, reset the password and review those events.',
            coalesce(opening.user_email, anchors.user_id),
            case
                when opening.signin_class is null then 'was active from'
                else 'signed in from'
            end,
            opening.ip_address,
            coalesce(opening.city || ', ', '')
            || coalesce(opening.country_code, 'unknown location'),
            case
                when coalesce(len(anchors.matched_lists), 0) > 0
                    then 'listed as '
                        || array_to_string(
                            list_distinct(
                                list_transform(
                                    anchors.matched_lists, lambda m: m.tag
                                )
                            ),
                            ', '
                        )
                when anchors.proxy_flagged
                    then 'which DocuSign reports as proxy type '
                        || opening.proxy_type
                else 'inside the organization''s Risky range '
                    || opening.org_range
            end,
            incidents.event_count
        ) as description,
        anchors.user_id,
        opening.user_email,
        opening.account_id,
        incidents.started_at,
        incidents.ended_at,
        incidents.event_ids,
        [opening.ip_address] as ip_addresses,
        incidents.countries,
        to_json({
            'ip_address': opening.ip_address,
            'matched_lists': anchors.matched_lists,
            'proxy_status': nullif(opening.proxy_status, ''),
            'proxy_type': nullif(opening.proxy_type, ''),
            'organization_range': opening.org_range,
            'organization_category': opening.org_category,
            'users_on_ip': anchors.users_on_ip,
            'widely_used_min_users': getvariable('det_widely_used_min_users'),
            'widely_used_rule': 'other organization users with successful '
                || 'interactive sign-ins from the address on 2+ days in '
                || getvariable('det_widely_used_days') || ' days',
            'regular_users_on_ip': anchors.other_regulars[1:10],
            'evaluated': getvariable('det_evaluate'),
            'opening_activity': opening.object || '/' || opening.action,
            'flagged_signins_that_day': anchors.flagged_signins_that_day,
            'location': {
                'country': opening.country_code,
                'region': opening.region,
                'city': opening.city
            }
        })::varchar as evidence
    from anchors
    inner join incidents on anchors.event_id = incidents.anchor_id
    -- the anchor's own row of the day (incidents keeps the day's anchors only)
    inner join anchor_user_events as opening
        on anchors.event_id = opening.event_id
)

select * from final
