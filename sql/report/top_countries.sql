-- top_countries
-- grain: one row per country (top 10 by alerts naming it)
select
    country_code,
    count(*) as alerts
from (
    select unnest(countries) as country_code
    from alerts
    where started_at >= $start::date and started_at < $end::date
)
group by all
order by alerts desc, country_code
limit 10
