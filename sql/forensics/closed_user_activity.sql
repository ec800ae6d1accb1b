-- closed_user_activity(from_date, to_date)
-- Activity by users who were no longer allowed in:
--   'membership_closed' the membership in that account was closed (or gone
--                       from the snapshots) before the event, when known,
--                       else by the end of that day;
--   'user_deleted'      the users mart says deleted at the end of that day;
--   'idp_deleted' / 'idp_disabled'  the identity provider had deleted or
--                       disabled the user before the event.
-- One row per event and reason.
-- dates: inclusive, on the event's UTC day
-- e.g.   select * from closed_user_activity(
--            date '2026-11-01', date '2026-11-08');

create or replace macro closed_user_activity(from_date, to_date) as table

with

events as (
    select * from activities
    where dt between from_date and to_date and user_id is not null
),

memberships as (
    select * from user_accounts_history
    where dt between from_date and to_date
),

user_states as (
    select * from users_history
    where dt between from_date and to_date
),

closed_membership as (
    select
        'membership_closed' as reason,
        memberships.closed_at as closed_at,
        events.*
    from events
    inner join memberships
        on events.dt = memberships.dt
        and events.user_id = memberships.user_id
        and events.account_id = memberships.account_id
    where
        not memberships.is_open
        and (
            memberships.closed_at is null
            or memberships.closed_at <= events.event_at
        )
),

deleted_user as (
    select
        'user_deleted' as reason,
        null::timestamptz as closed_at,
        events.*
    from events
    inner join user_states
        on events.dt = user_states.dt
        and events.user_id = user_states.user_id
    where user_states.state = 'deleted'
),

idp_closed as (
    select
        'idp_' || user_states.idp_status as reason,
        user_states.idp_status_changed_at as closed_at,
        events.*
    from events
    inner join user_states
        on events.dt = user_states.dt
        and events.user_id = user_states.user_id
    where
        user_states.idp_status in ('deleted', 'disabled')
        and coalesce(
            user_states.idp_status_changed_at <= events.event_at, true
        )
),

unioned as (
    select * from closed_membership
    union all
    select * from deleted_user
    union all
    select * from idp_closed
),

final as (
    select
        event_at,
        reason,
        closed_at,
        user_email,
        user_id,
        scope,
        account_id,
        object,
        action,
        result,
        signin_class,
        ip_address,
        country_code,
        city,
        location_source,
        event_id
    from unioned
)

select * from final
order by event_at, event_id, reason;
