-- policy_activity
-- grain:       one row per audit event in the policy's window plus its
--              lookback: policy_events with its address's IP classes and
--              the actor's admin state, for the policies that filter on them
-- primary key: event_id
-- window:      window_start - pol_lookback_days <= dt < window_end
-- inputs:      policy_events (view), users (mart); org_ip_ranges and
--              ip_list_entries (temp tables from dsassets.yaml and the IP
--              list files, dsassets/lib/intel/ip_intel.py)
-- notes:       ip_category is the category of the organization range
--              holding the address (ranges never overlap); ip_tags are that
--              range's tags plus the tags of every IP list the address is on
--              (Tor exit nodes, Anonymous proxy, ...), all lowercase.
--              is_admin is the actor's state at the end of the event's day.

with

events as (
    select * from policy_events
),

-- organization range and IP-list matches: the detections' ip_classes macro
-- (sql/detections/macros.sql)
ip_classes as (
    select * from ip_classes(getvariable('pol_lookback_days'))
),

admins as (
    select
        dt,
        user_id,
        is_admin
    from users
    where in_lookback_window(dt, getvariable('pol_lookback_days'))
),

final as (
    select
        events.*,
        ip_classes.org_range as ip_range,
        lower(ip_classes.org_category) as ip_category,
        list_sort(list_distinct(list_transform(
            list_concat(
                coalesce(ip_classes.org_tags, []::varchar[]),
                list_transform(
                    list_concat(
                        coalesce(ip_classes.anonymous_matches, []),
                        coalesce(ip_classes.suspicious_matches, [])
                    ),
                    lambda match: match.tag
                )
            ),
            lambda tag: lower(tag)
        ))) as ip_tags,
        coalesce(admins.is_admin, false) as is_admin
    from events
    left join ip_classes on events.ip_hex = ip_classes.ip_hex
    left join admins
        on events.dt = admins.dt
        and events.user_id = admins.user_id
)

select * from final
