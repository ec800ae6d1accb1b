-- ip_activity(ip_or_cidr, from_date, to_date)
-- Every activity from one address or a CIDR range, IPv4 or IPv6
-- ('203.0.113.7', '10.0.0.0/8', '2001:db8::/32'). Addresses DocuSign sent in
-- a form we could not parse match only by their exact text.
-- dates: inclusive, on the event's UTC day
-- e.g.   select * from ip_activity('203.0.113.0/24',
--            date '2026-11-01', date '2026-11-08');

create or replace macro ip_activity(ip_or_cidr, from_date, to_date) as table

with

matched as (
    select * from activities
    where
        dt between from_date and to_date
        and (
            ip_in_cidr(ip_hex, trimmed(ip_or_cidr))
            or ip_address_raw = trimmed(ip_or_cidr)
        )
),

final as (
    select
        event_at,
        ip_address,
        ip_status,
        country_code,
        city,
        location_source,
        scope,
        account_id,
        user_id,
        user_email,
        user_match,
        object,
        action,
        result,
        source,
        signin_class,
        user_agent,
        event_id
    from matched
)

select * from final
order by event_at, event_id;
