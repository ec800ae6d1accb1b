-- detection_country_last_use
-- grain:       one row per user and country the user used in the lookback
--              before the window (det_lookback_days), among the baseline rows
--              infrequent_country evaluates (detection_country_uses)
-- primary key: (user_id, country_code)
-- columns:     last_at, the last use; last_dt, the day of the row it came
--              from, which tells a range run when it leaves the lookback
-- window:      the det_lookback_days before window_start
-- made:        a view in a one-day run; in a range run a table, the first day
--              from the whole lookback and each later day rolled forward from
--              the day before's (roll/detection_country_last_use.sql)

select
    user_id,
    country_code,
    max(last_at) as last_at,
    arg_max(dt, last_at) as last_dt
from detection_country_uses
where
    dt >= getvariable('window_start')
        - getvariable('det_lookback_days')::integer
    and dt < getvariable('window_start')
    and last_at is not null
group by all
