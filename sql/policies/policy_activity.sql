-- policy_activity
-- grain:       one row per audit event in the policy's window plus its
--              lookback, with the attributes activity policies filter on
-- primary key: event_id
-- window:      window_start - pol_lookback_days <= dt < window_end
-- inputs:      activities and users (marts); org_ip_ranges and
--              ip_list_entries (temp tables from dsassets.yaml and the IP
--              list files, dsassets/lib/intel/ip_intel.py)
-- notes:       ip_category is the category of the organization range
--              holding the address (ranges never overlap); ip_tags are that
--              range's tags plus the tags of every IP list the address is on
--              (Tor exit nodes, Anonymous proxy, ...), all lowercase.
--              is_admin is the actor's state at the end of the event's day.

with

events as (
    select
        event_id,
        event_at,
        dt,
        scope,
        account_id,
        user_id,
        user_email,
        object,
        action,
        result,
        source,
        signin_class,
        ip_address,
        ip_hex,
        country_code,
        city,
        user_agent,
        affected_user_id,
        affected_user_email,
        property,
        old_value,
        new_value
    from activities
    where
        dt >= getvariable('window_start')
            - getvariable('pol_lookback_days')::integer
        and dt < getvariable('window_end')
),

addresses as (
    select distinct ip_hex from events where ip_hex is not null
),

org_matches as (
    select
        addresses.ip_hex,
        org_ip_ranges.range_name as ip_range,
        lower(org_ip_ranges.category) as ip_category,
        org_ip_ranges.tags as range_tags
    from addresses
    inner join org_ip_ranges
        on addresses.ip_hex between org_ip_ranges.start_hex
        and org_ip_ranges.end_hex
),

list_matches as (
    select
        addresses.ip_hex,
        list(distinct ip_list_entries.tag) as list_tags
    from addresses
    inner join ip_list_entries
        on addresses.ip_hex between ip_list_entries.start_hex
        and ip_list_entries.end_hex
    group by all
),

admins as (
    select
        dt,
        user_id,
        is_admin
    from users
    where
        dt >= getvariable('window_start')
            - getvariable('pol_lookback_days')::integer
        and dt < getvariable('window_end')
),

final as (
    select
        events.*,
        org_matches.ip_range,
        org_matches.ip_category,
        list_sort(list_distinct(list_transform(
            list_concat(
                coalesce(org_matches.range_tags, []::varchar[]),
                coalesce(list_matches.list_tags, []::varchar[])
            ),
            lambda tag: lower(tag)
        ))) as ip_tags,
        coalesce(admins.is_admin, false) as is_admin
    from events
    left join org_matches on events.ip_hex = org_matches.ip_hex
    left join list_matches on events.ip_hex = list_matches.ip_hex
    left join admins
        on events.dt = admins.dt
        and events.user_id = admins.user_id
)

select * from final
