-- detection_ip_classes
-- grain:       one row per distinct address of the run's window and lookback
-- primary key: ip_hex
-- window:      window_start - det_lookback_days <= dt < window_end (the run)
-- columns:     the organization range (ranges never overlap, so at most
--              one) and the list entries matching the address, by policy
-- notes:       CIDR matching is a range join on the 32-hex-digit ip_hex over
--              the distinct addresses only, once per run

with

addresses as (
    select distinct ip_hex from activities
    where
        dt >= getvariable('window_start')
            - getvariable('det_lookback_days')::integer
        and dt < getvariable('window_end')
        and ip_hex is not null
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
        list(
            {
                'list': ip_list_entries.list_name,
                'tag': ip_list_entries.tag,
                'cidr': ip_list_entries.cidr,
                'as_of': ip_list_entries.as_of,
                'file': ip_list_entries.file
            }
            order by ip_list_entries.list_name, ip_list_entries.cidr
        ) filter (where ip_list_entries.policy = 'anonymous_ip')
            as anonymous_matches,
        list(
            {
                'list': ip_list_entries.list_name,
                'tag': ip_list_entries.tag,
                'cidr': ip_list_entries.cidr,
                'as_of': ip_list_entries.as_of,
                'file': ip_list_entries.file
            }
            order by ip_list_entries.list_name, ip_list_entries.cidr
        ) filter (where ip_list_entries.policy = 'suspicious_ip')
            as suspicious_matches
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
        list_matches.anonymous_matches,
        list_matches.suspicious_matches
    from addresses
    left join org_matches on addresses.ip_hex = org_matches.ip_hex
    left join list_matches on addresses.ip_hex = list_matches.ip_hex
)

select * from final
