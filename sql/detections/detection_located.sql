-- detection_located
-- grain:       one row per evaluated event of detection_activity that has a
--              user and a country from a trusted location source: the input
--              of the location policies (infrequent_country,
--              impossible_travel)
-- primary key: event_id
-- window:      as detection_activity (the day plus det_raw_lookback_days)
-- evaluated:   successful interactive sign-ins (det_evaluate = 'signins'),
--              or every event except failed and non-interactive sign-ins
--              ('activities'), as MDCA does
-- locations:   only from det_location_sources (default DocuSign's own, not the
--              offline IP database)
-- notes:       a plain view, kept narrow: each policy reads it several times

with

final as (
    select
        event_id,
        event_at,
        dt,
        account_id,
        user_id,
        user_email,
        ip_address,
        ip_hex,
        country_code,
        city,
        latitude,
        longitude,
        org_category,
        is_trusted_ip,
        anonymous_matches is not null or suspicious_matches is not null
            as is_listed_ip
    from detection_activity
    where
        user_id is not null
        and country_code is not null
        and list_contains(getvariable('det_location_sources'), location_source)
        and case getvariable('det_evaluate')
            when 'signins' then coalesce(signin_class = 'interactive_success', false)
            else coalesce(signin_class = 'interactive_success', true)
        end
)

select * from final
