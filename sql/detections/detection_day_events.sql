-- detection_day_events
-- grain:       one row per audit event of the day computed, with its IP
--              classes
-- primary key: event_id
-- window:      window_start <= dt < window_end (one day)

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
    where
        dt >= getvariable('window_start')
        and dt < getvariable('window_end')
)

select * from final
