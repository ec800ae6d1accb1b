-- ip_reputation: the anonymous_ip and suspicious_ip policies
-- grain:       one alert per incident: a user's activity from one flagged IP,
--              opened by a flagged sign-in with no earlier flagged sign-in of
--              that user from that IP within det_dedup_hours
-- primary key: alert_id (sha256 of policy, user and the opening event)
-- window:      alerts whose opening sign-in is in [window_start, window_end);
--              lookback det_lookback_days for de-duplication and for the
--              widely-used-IP suppression
-- flagged:     anonymous_ip  = an anonymous_ip list (Tor exits, anonymizers)
--                              or DocuSign proxyType in det_proxy_types
--              suspicious_ip = a suspicious_ip list (threat intelligence) or
--                              an organization range of category 'risky'
-- never:       IPs in the organization's corporate or VPN ranges (a custom
--              tag wins over a built-in one); IPs used by at least
--              det_widely_used_min_users users signing in from them within
--              det_widely_used_days (MDCA
--              drops such mis-tagged IPs); failed and non-interactive
--              sign-ins unless listed in det_signin_classes

with

signins as (
    select
        *,
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
        and list_contains(getvariable('det_signin_classes'), signin_class)
        and not is_trusted_ip
),

flagged as (
    select * from signins
    where
        coalesce(len(matched_lists), 0) > 0
        or proxy_flagged
        or org_risky
),

ip_users as (
    select
        activity.ip_hex,
        count(distinct activity.user_id) as users_on_ip
    from detection_activity as activity
    where
        activity.ip_hex in (select ip_hex from flagged)
        and activity.dt >= getvariable('window_start')
            - getvariable('det_widely_used_days')::integer
    group by all
),

kept as (
    select
        flagged.*,
        coalesce(ip_users.users_on_ip, 0) as users_on_ip
    from flagged
    left join ip_users on flagged.ip_hex = ip_users.ip_hex
    where
        coalesce(ip_users.users_on_ip, 0)
        < getvariable('det_widely_used_min_users')
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

-- every event of the user from that IP, on the anchor's day, from the anchor
-- until the next anchor
incident_events as (
    select
        anchors.event_id as anchor_id,
        activity.*
    from detection_day_events as activity
    asof inner join anchors
        on activity.user_id = anchors.user_id
        and activity.ip_hex = anchors.ip_hex
        and activity.event_at >= anchors.event_at
    where
        activity.dt = anchors.dt
        and anchors.dt >= getvariable('window_start')
        and activity.user_id in (select user_id from anchors)
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
            '%s signed in from %s (%s), %s, and performed %d DocuSign '
            || 'event(s) from it. Unless this is a sanctioned test, suspend '
            || 'the user, reset the password and review those events.',
            coalesce(anchors.user_email, anchors.user_id),
            anchors.ip_address,
            coalesce(anchors.city || ', ', '')
            || coalesce(anchors.country_code, 'unknown location'),
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
                        || anchors.proxy_type
                else 'inside the organization''s Risky range '
                    || anchors.org_range
            end,
            incidents.event_count
        ) as description,
        anchors.user_id,
        anchors.user_email,
        anchors.account_id,
        incidents.started_at,
        incidents.ended_at,
        incidents.event_ids,
        [anchors.ip_address] as ip_addresses,
        incidents.countries,
        to_json({
            'ip_address': anchors.ip_address,
            'matched_lists': anchors.matched_lists,
            'proxy_status': nullif(anchors.proxy_status, ''),
            'proxy_type': nullif(anchors.proxy_type, ''),
            'organization_range': anchors.org_range,
            'organization_category': anchors.org_category,
            'users_on_ip': anchors.users_on_ip,
            'widely_used_min_users': getvariable('det_widely_used_min_users'),
            'flagged_signins_that_day': anchors.flagged_signins_that_day,
            'location': {
                'country': anchors.country_code,
                'region': anchors.region,
                'city': anchors.city
            }
        })::varchar as evidence
    from anchors
    inner join incidents on anchors.event_id = incidents.anchor_id
)

select * from final
