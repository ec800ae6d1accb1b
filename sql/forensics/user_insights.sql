-- user_insights(email_or_id, days)
-- MDCA's user panel in one row: the user's state and admin flags, their
-- accounts, countries and IP addresses (with the organization range category
-- and the IP lists they are on), sign-in successes and failures, alerts by
-- policy and governance actions over the last `days` days of data (counted
-- back from the newest day in the lake, so old backfills work too), and when
-- they were last active.
-- email_or_id: e-mail (any case) or DocuSign user id
-- e.g.   select * from user_insights('sofia.johnson@acme.example.com', 30);

create or replace macro user_insights(email_or_id, days) as table

with

person as (
    select * from users
    where
        lower(email) = lower(trimmed(email_or_id))
        or user_id = trimmed(email_or_id)
),

since as (
    select
        last_day - days::integer as first_day,
        last_day
    from (select max(dt) as last_day from activities)
),

events as (
    select activities.* from activities, since
    where
        activities.dt > since.first_day
        and activities.user_id in (select user_id from person)
),

accounts as (
    select
        user_id,
        list({
            'account_id': account_id,
            'account_name': account_name,
            'status': status,
            'is_admin': is_admin,
            'permission_profile': permission_profile_name
        } order by account_id) as accounts
    from user_accounts
    where user_id in (select user_id from person)
    group by user_id
),

by_country as (
    select
        country_code,
        count(*) as events,
        min(event_at) as first_seen,
        max(event_at) as last_seen
    from events
    where country_code is not null
    group by all
),

by_ip as (
    select
        ip_address,
        any_value(ip_hex) as ip_hex,
        list_sort(list(distinct country_code)
            filter (where country_code is not null)) as countries,
        count(*) as events,
        count(*) filter (where signin_outcome = 'failure') as signin_failures
    from events
    where ip_address is not null
    group by all
),

ip_labels as (
    select
        by_ip.*,
        (select any_value(r.category) from org_ip_ranges as r
            where by_ip.ip_hex between r.start_hex and r.end_hex) as category,
        (select any_value(r.range_name) from org_ip_ranges as r
            where by_ip.ip_hex between r.start_hex and r.end_hex) as ip_range,
        (select list_sort(list(distinct l.tag)) from ip_list_entries as l
            where by_ip.ip_hex between l.start_hex and l.end_hex) as list_matches
    from by_ip
),

user_alerts as (
    select
        policy,
        count(*) as alerts,
        count(*) filter (where status in ('open', 'in_progress')) as unresolved,
        max(started_at) as latest
    from alerts, since
    where
        alerts.user_id in (select user_id from person)
        and alerts.started_at::date > since.first_day
    group by all
),

actions as (
    select action, status, count(*) as times, max(recorded_at) as latest
    from governance_actions
    where target_user_id in (select user_id from person)
    group by all
),

final as (
    select
        person.user_id,
        person.email,
        person.state,
        person.state_reason,
        person.organization_user_status,
        person.idp_status,
        person.is_admin,
        person.is_organization_admin,
        person.is_account_admin,
        accounts.accounts,
        (select list({'country_code': country_code, 'events': events,
                      'first_seen': first_seen, 'last_seen': last_seen}
                     order by events desc) from by_country) as countries,
        (select list({'ip_address': ip_address, 'category': category,
                      'ip_range': ip_range, 'list_matches': list_matches,
                      'countries': countries, 'events': events,
                      'signin_failures': signin_failures}
                     order by events desc) from ip_labels) as ip_addresses,
        (select count(*) from events
            where signin_outcome = 'success') as signin_successes,
        (select count(*) from events
            where signin_outcome = 'failure') as signin_failures,
        (select count(*) from events
            where signin_outcome = 'failure' and is_interactive_signin)
            as interactive_signin_failures,
        (select list({'policy': policy, 'alerts': alerts,
                      'unresolved': unresolved, 'latest': latest}
                     order by alerts desc) from user_alerts) as alerts_by_policy,
        (select list({'action': action, 'status': status, 'times': times,
                      'latest': latest} order by latest desc) from actions)
            as governance_actions,
        person.last_activity_at,
        person.last_successful_signin_at,
        (select first_day + 1 from since) as from_day,
        (select last_day from since) as to_day
    from person
    left join accounts on person.user_id = accounts.user_id
)

select * from final;
