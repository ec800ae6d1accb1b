-- detection_signins
-- grain:       one row per sign-in (any class) of the run's window and the
--              lookback before it (every event with det_lookback_all_events,
--              for evaluate: activities), with its IP classes
-- primary key: event_id
-- window:      window_start - det_lookback_days <= dt < window_end, for the
--              whole run: read once, then each day takes its own lookback
--              from it instead of re-reading the Parquet marts
-- notes:       baselines are built from sign-ins, a fifth of the events

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
            - getvariable('det_lookback_days')::integer
        and dt < getvariable('window_end')
        and (signin_class is not null or getvariable('det_lookback_all_events'))
)

select * from final
