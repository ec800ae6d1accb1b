-- detection_country_last_use, rolled forward a day (a range run's next day):
-- the table holds the day before's rows, whose lookback started a day earlier
-- and ended a day earlier. The day before the window is added; a use whose row
-- left the lookback (its last_dt) is looked up again among the days still in
-- it, so the rows equal the view's whatever the order of days and times (an
-- event filed on a day other than its own, for instance). Only the few users
-- and countries last used on the day that left are read again, not the ~30 days
-- of every user (at a million events a day, grouping the whole lookback was
-- about half of the policy's day 30)

with

first_day as (
    select
        getvariable('window_start')
        - getvariable('det_lookback_days')::integer as dt
),

left_lookback as (
    select user_id, country_code from detection_country_last_use
    where last_dt < (select dt from first_day)
),

uses as (
    select user_id, country_code, last_at, last_dt
    from detection_country_last_use
    where last_dt >= (select dt from first_day)
    union all
    select user_id, country_code, last_at, dt as last_dt
    from detection_country_uses
    where dt = getvariable('window_start') - 1 and last_at is not null
    union all
    select uses.user_id, uses.country_code, uses.last_at, uses.dt as last_dt
    from detection_country_uses as uses
    semi join left_lookback
        on uses.user_id = left_lookback.user_id
        and uses.country_code = left_lookback.country_code
    where
        uses.dt >= (select dt from first_day)
        and uses.dt < getvariable('window_start') - 1
        and uses.last_at is not null
)

select
    user_id,
    country_code,
    max(last_at) as last_at,
    arg_max(last_dt, last_at) as last_dt
from uses
group by all
