-- detection_events
-- grain:       one row per audit event in activities, with the classes of its
--              IP address (organization range, trusted, list matches)
-- primary key: event_id
-- window:      none: detection_raw_lookback and detection_day_events filter it
-- notes:       a plain view, so the IP-class join is written once

with

final as (
    select
        event_id,
        event_at,
        dt,
        account_id,
        user_id,
        user_email,
        object,
        action,
        signin_class,
        ip_address,
        activities.ip_hex,
        country_code,
        latitude,
        longitude,
        region,
        city,
        location_source,
        proxy_status,
        proxy_type,
        ips.org_range,
        ips.org_category,
        ips.org_tags,
        coalesce(ips.is_trusted_ip, false) as is_trusted_ip,
        ips.anonymous_matches,
        ips.suspicious_matches
    from activities
    left join detection_ip_classes as ips
        on activities.ip_hex = ips.ip_hex
)

select * from final
