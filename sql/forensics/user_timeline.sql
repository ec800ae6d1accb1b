-- user_timeline(who, from_date, to_date)
-- A user's timeline across every account and the organization: what they did
-- (involvement = 'actor') and what was done to them ('target'), oldest first.
-- who:   email (any case) or DocuSign user id
-- dates: inclusive, on the event's UTC day
-- e.g.   select * from user_timeline('alice@acme.example',
--            date '2026-11-01', date '2026-11-08');

create or replace macro user_timeline(who, from_date, to_date) as table

with

events as (
    select * from activities
    where dt between from_date and to_date
),

involved as (
    select 'actor' as involvement, *
    from events
    where lower(user_email) = lower(trimmed(who)) or user_id = trimmed(who)
    union all
    select 'target' as involvement, *
    from events
    where
        lower(affected_user_email) = lower(trimmed(who))
        or affected_user_id = trimmed(who)
),

final as (
    select
        event_at,
        involvement,
        scope,
        account_id,
        user_email,
        affected_user_email,
        object,
        action,
        result,
        source,
        event_type,
        signin_class,
        property,
        old_value,
        new_value,
        ip_address,
        country_code,
        city,
        location_source,
        user_agent,
        event_id
    from involved
)

select * from final
order by event_at, event_id;
