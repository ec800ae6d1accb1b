-- det_baseline_user_countries
-- grain:       one row per user, day, country, location source and kind of
--              event: 'signin' (a successful interactive sign-in) or
--              'activity' (an event that is not a sign-in), the events the
--              location policies evaluate (det_evaluate picks the kinds,
--              det_location_sources the sources, when they read it)
-- primary key: (dt, user_id, country_code, location_source, evaluated_as)
-- window:      window_start <= dt < window_end
-- lookback:    none: a day's rows come from that day's activities only, so a
--              backfill may compute the days in any order
-- columns:     events and last_at (the last use of the country that day);
--              event_times, every event's time, because a baseline ends at
--              the alerting event's own time 30 days back, in the middle of a
--              day; located_events, the events with coordinates (the ones
--              impossible_travel pairs)
-- read by:     infrequent_country (countries used in the baseline and the
--              last use of each) and impossible_travel (days the user, and
--              how many other users, used the destination country)

with

located as (
    select
        dt,
        user_id,
        country_code,
        location_source,
        event_at,
        latitude is not null and longitude is not null as has_coordinates,
        case
            when signin_class = 'interactive_success' then 'signin'
            when signin_class is null then 'activity'
        end as evaluated_as
    from activities
    where
        dt >= getvariable('window_start')
        and dt < getvariable('window_end')
        and user_id is not null
        and country_code is not null
        and location_source is not null
),

final as (
    select
        dt,
        user_id,
        country_code,
        location_source,
        evaluated_as,
        count(*) as events,
        max(event_at) as last_at,
        list(event_at order by event_at) as event_times,
        count(*) filter (where has_coordinates) as located_events
    from located
    -- failed and non-interactive sign-ins are never evaluated
    where evaluated_as is not null
    group by all
)

select * from final
