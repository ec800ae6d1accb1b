-- detection_first_seen, rolled forward a day (a range run's next day): min()
-- over the day before's first days and the day's users gives the view's rows
-- without reading every earlier day again (a range's days read all history
-- before them)

with

daily as (
    select user_id, first_dt as dt from detection_first_seen
    union all
    select user_id, dt from int_user_activity_daily
    where dt = getvariable('window_start') and user_id is not null
)

select
    user_id,
    min(dt) as first_dt,
    (select min(dt) from daily) as org_first_dt
from daily
group by all
