-- daily_activity(events, grain): the measures of the daily activity marts,
-- one row per dt and `grain` column ('account_id' or 'organization_id') of
-- the relation named `events` (a model's CTE of activities rows). The marts
-- keep the leading columns they need (see account_daily_activity.sql and
-- organization_daily_activity.sql); the rest is the same for every grain.
create or replace macro daily_activity(events, grain) as table
    select
        dt,
        columns(grain),

        ---------- what the grain holds
        any_value(organization_id) as any_organization_id,
        count(distinct account_id) as account_count,
        count(*) filter (where scope = 'organization')
            as organization_scope_event_count,

        ---------- volume
        count(*) as event_count,
        count(distinct user_id) as user_count,
        count(*) filter (where user_match = 'unknown')
            as unknown_user_event_count,
        count(distinct ip_address_raw) as ip_address_count,
        count(distinct country_code) as country_count,
        list_sort(
            list(distinct country_code) filter (where country_code is not null)
        )
            as country_codes,
        count(*) filter (where location_source = 'ip_lookup')
            as ip_lookup_location_count,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at,

        ---------- sign-ins
        count(*) filter (where signin_class = 'interactive_success')
            as interactive_signin_success_count,
        count(*) filter (where signin_class = 'interactive_failure')
            as interactive_signin_failure_count,
        count(*) filter (where signin_class = 'non_interactive_success')
            as non_interactive_signin_success_count,
        count(*) filter (where signin_class = 'non_interactive_failure')
            as non_interactive_signin_failure_count,

        ---------- envelopes
        count(*) filter (where object = 'Envelope' and action = 'Created')
            as envelopes_created_count,
        count(*) filter (where object = 'Envelope' and action = 'Sent')
            as envelopes_sent_count,
        count(*) filter (where object = 'Envelope' and action = 'Viewed')
            as envelopes_viewed_count,
        count(*) filter (where object = 'Envelope' and action = 'Downloaded')
            as envelopes_downloaded_count,
        count(*) filter (where object = 'Envelope' and action = 'Voided')
            as envelopes_voided_count,
        count(*) filter (where object = 'Envelope' and action = 'Deleted')
            as envelopes_deleted_count,
        count(*) filter (where object = 'Envelope' and action = 'Completed')
            as envelopes_completed_count,

        ---------- administration
        count(*) filter (where event_type = 'account_setting_changed')
            as setting_change_count,
        count(*) filter (
            where event_type is not null
            and event_type <> 'account_setting_changed'
        ) as user_lifecycle_event_count,
        count(*) filter (where object = 'Alert') as monitor_alert_count
    from query_table(events)
    group by all;
