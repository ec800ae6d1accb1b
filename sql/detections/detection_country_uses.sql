-- detection_country_uses
-- grain:       det_baseline_user_countries' rows (user, day, country, source,
--              kind) that the location policies evaluate: sign-ins, or every
--              kind with det_evaluate = 'activities'; sources in
--              det_location_sources
-- window:      none: every day bound; readers filter on dt
-- read by:     infrequent_country, impossible_travel, detection_country_last_use

select * from det_baseline_user_countries
where
    list_contains(getvariable('det_location_sources'), location_source)
    and (
        evaluated_as = 'signin'
        or getvariable('det_evaluate') = 'activities'
    )
