-- Macros of the detections, created in every detection connection
-- (dsassets/lib/detections/engine.py) before the shared views; `ip_classes` also in
-- the activity policies' connection (dsassets/lib/policies/compile.py). Both
-- register org_ip_ranges and ip_list_entries (dsassets/lib/intel/ip_intel.py), so
-- none of this goes into warehouse.duckdb.

-- The window variables widened by a lookback: window_start - days <= day <
-- window_end (in_window of sql/macros/window.sql, from days earlier; this
-- file does not rely on those macros being installed). Constant once the
-- variables are set, so it prunes partitions.
create or replace temp macro in_lookback_window(day, lookback_days) as
    day >= getvariable('window_start') - lookback_days::integer
    and day < getvariable('window_end');

-- An event of the raw lookback (detection_raw_lookback): a sign-in, or any
-- event with det_lookback_all_events (evaluate: activities).
create or replace temp macro in_raw_lookback(signin_class) as
    signin_class is not null or getvariable('det_lookback_all_events');

-- t lies in the det_baseline_days before `anchor`, the anchor itself
-- excluded: the baseline of an anchor event (two timestamps, or two dates).
create or replace temp macro in_baseline(t, anchor) as
    t < anchor and t >= anchor - to_days(getvariable('det_baseline_days'));

-- The addresses the identity provider lists as deleted or disabled: one row
-- per address of each user of `snapshots` (rows of stg_idp__users), as
-- terminated_user_activity and its history parts read them. A user without an
-- address gives no row (unnest of an empty or null list): a filter on
-- len(idp_emails) computed the address list a second time for every row of
-- every snapshot.
create or replace temp macro terminated_listings(snapshots) as table
    select
        unnest(idp_emails) as email,
        idp_user_id,
        idp_status,
        idp_status_changed_at,
        idp_status_changed_at_source,
        snapshot_taken_at,
        dt
    from query_table(snapshots)
    where idp_status in ('deleted', 'disabled');

-- The learning period (detection_first_seen): the user and the organization
-- were first seen long enough before `day`.
create or replace temp macro past_learning_period(first_dt, org_first_dt, day) as
    first_dt + getvariable('det_learning_user_days')::integer <= day
    and org_first_dt + getvariable('det_learning_organization_days')::integer
    <= day;

-- Every alert of a built-in policy: the first 32 hex digits of
-- sha256(policy | user_id | the event that opened the incident), so re-running
-- a day gives the same ids and later days of the incident raise nothing new.
create or replace temp macro detection_alert_id(user_id, event_id) as
    substr(
        sha256(getvariable('det_policy') || '|' || user_id || '|' || event_id),
        1,
        32
    );

-- Aggregates of an incident's events: their ids in time order (ties by id),
-- and the distinct values of an attribute, sorted (nulls dropped).
create or replace temp macro incident_event_ids(event_id, event_at) as
    list(event_id order by event_at, event_id);

create or replace temp macro sorted_distinct(value) as
    list_sort(list_distinct(list(value)));

-- ip_classes(lookback_days)
-- grain:       one row per distinct address of activities with
--              window_start - lookback_days <= dt < window_end
-- primary key: ip_hex
-- columns:     the organization range (ranges never overlap, so at most one)
--              with its category as configured and its tags, is_trusted_ip
--              (Corporate/VPN), and the list entries matching the address,
--              by the policy the list feeds
-- notes:       CIDR matching is a range join on the 32-hex-digit ip_hex over
--              the distinct addresses only
create or replace temp macro ip_classes(lookback_days) as table
    with

    addresses as (
        select distinct ip_hex from activities
        where in_lookback_window(dt, lookback_days) and ip_hex is not null
    ),

    org_matches as (
        select
            addresses.ip_hex,
            org_ip_ranges.range_name as org_range,
            org_ip_ranges.category as org_category,
            org_ip_ranges.tags as org_tags
        from addresses
        inner join org_ip_ranges
            on addresses.ip_hex between org_ip_ranges.start_hex
            and org_ip_ranges.end_hex
    ),

    list_matches as (
        select
            addresses.ip_hex,
            ip_list_entries.policy,
            list(
                {
                    'list': ip_list_entries.list_name,
                    'tag': ip_list_entries.tag,
                    'cidr': ip_list_entries.cidr,
                    'as_of': ip_list_entries.as_of,
                    'file': ip_list_entries.file
                }
                order by ip_list_entries.list_name, ip_list_entries.cidr
            ) as matches
        from addresses
        inner join ip_list_entries
            on addresses.ip_hex between ip_list_entries.start_hex
            and ip_list_entries.end_hex
        group by all
    ),

    final as (
        select
            addresses.ip_hex,
            org_matches.org_range,
            org_matches.org_category,
            org_matches.org_tags,
            coalesce(org_matches.org_category in ('corporate', 'vpn'), false)
                as is_trusted_ip,
            anonymous.matches as anonymous_matches,
            suspicious.matches as suspicious_matches
        from addresses
        left join org_matches on addresses.ip_hex = org_matches.ip_hex
        left join list_matches as anonymous
            on addresses.ip_hex = anonymous.ip_hex
            and anonymous.policy = 'anonymous_ip'
        left join list_matches as suspicious
            on addresses.ip_hex = suspicious.ip_hex
            and suspicious.policy = 'suspicious_ip'
    )

    select * from final;
