-- posture_changes
-- grain:       one row per account, control and day whose status differs
--              from the control's previous snapshot day (drift)
-- primary key: (dt, account_id, control_id)
-- window:      window_start <= dt < window_end
-- lookbacks:   posture_findings before the window (the previous day with a
--              finding for that account and control, however far back);
--              activities between the two snapshots
-- linking:     audit events of the account, of the control's event types
--              (posture_controls.change_event_types; account settings:
--              'account_setting_changed', i.e. Account/Updated by default)
--              and, for setting controls, on one of its settings (property,
--              case-insensitive), not failed, after the previous snapshot was
--              taken and up to the current one. When snapshot times are
--              missing or out of order (backdated snapshots of a real
--              backfill) the search falls back to whole days: the day after
--              the previous snapshot day through the current day.
--              A setting weakened and restored between two snapshots changes
--              no status, so it is not here (settings_changes() lists it).

with

current_findings as (
    select * from posture_findings
    where in_window(dt)
),

earlier_findings as (
    select
        dt,
        account_id,
        control_id,
        status,
        observed,
        evidence_taken_at
    from posture_findings
    where dt < getvariable('window_end')
),

paired as (
    select
        current_findings.*,
        earlier.dt as from_dt,
        earlier.status as from_status,
        earlier.observed as from_observed,
        earlier.evidence_taken_at as from_evidence_taken_at
    from current_findings
    asof inner join earlier_findings as earlier
        on current_findings.account_id = earlier.account_id
        and current_findings.control_id = earlier.control_id
        and current_findings.dt > earlier.dt
),

changes as (
    select
        paired.*,
        controls.change_event_types,
        list_transform(controls.setting_keys, lambda k: lower(k))
            as setting_keys_lower,
        coalesce(
            from_evidence_taken_at < evidence_taken_at, false
        ) as snapshot_times_usable,
        case
            when snapshot_times_usable then from_evidence_taken_at
            else timezone('UTC', (from_dt + 1)::timestamp)
        end as events_after,
        case
            when snapshot_times_usable then evidence_taken_at
            else timezone('UTC', (dt + 1)::timestamp)
        end as events_until
    from paired
    inner join posture_controls as controls
        on paired.control_id = controls.control_id
    where paired.status <> paired.from_status
),

events as (
    select * from activities
    where
        dt >= (select min(from_dt) from changes)
        and dt < getvariable('window_end')
        and event_type is not null
        and coalesce(lower(result), '') not in ('failed', 'failure')
),

linked as (
    select
        changes.dt,
        changes.account_id,
        changes.control_id,
        events.event_id,
        events.event_at,
        events.event_type,
        events.property as setting,
        events.old_value,
        events.new_value,
        events.user_id,
        events.user_email,
        events.ip_address,
        events.country_code,
        events.city
    from changes
    inner join events
        on coalesce(events.account_id, '') in (changes.account_id, '')
        and events.event_at > changes.events_after
        and events.event_at <= changes.events_until
        and list_contains(changes.change_event_types, events.event_type)
        and (
            len(changes.setting_keys_lower) = 0
            or list_contains(
                changes.setting_keys_lower, lower(events.property)
            )
        )
),

linked_events as (
    select
        dt,
        account_id,
        control_id,
        count(*) as linked_event_count,
        list(
            {
                'event_at': event_at,
                'user_email': user_email,
                'user_id': user_id,
                'event_type': event_type,
                'setting': setting,
                'old_value': old_value,
                'new_value': new_value,
                'ip_address': ip_address,
                'country_code': country_code,
                'city': city,
                'event_id': event_id
            }
            order by event_at, event_id
        ) as events,
        -- the latest linked event, ties broken by event_id as in `events`
        events[-1] as latest
    from linked
    group by all
),

final as (
    select
        changes.dt,
        changes.organization_id,
        changes.account_id,
        changes.account_name,
        changes.control_id,
        changes.title,
        changes.severity,
        changes.from_dt,
        changes.from_status,
        changes.status as to_status,
        case
            when changes.status = 'unknown' then 'became_unknown'
            when changes.status = 'fail' and changes.from_status = 'pass'
                then 'regressed'
            when changes.status = 'fail' then 'now_failing'
            when changes.from_status = 'fail' then 'remediated'
            else 'now_passing'
        end as change_kind,
        changes.from_observed,
        changes.observed as to_observed,
        changes.expected,
        changes.status_reason as to_status_reason,

        ---------- who changed it (the latest linked event)
        case
            when linked_events.linked_event_count > 0 then 'audit_event'
            when len(changes.change_event_types) = 0 then 'not_audited'
            else 'no_matching_event'
        end as attribution,
        coalesce(linked_events.linked_event_count, 0) as linked_event_count,
        linked_events.latest.event_at as changed_at,
        linked_events.latest.user_email as changed_by,
        linked_events.latest.user_id as changed_by_user_id,
        linked_events.latest.ip_address as changed_from_ip,
        linked_events.latest.country_code as changed_from_country,
        linked_events.latest.city as changed_from_city,
        linked_events.latest.setting as changed_setting,
        linked_events.latest.old_value as changed_old_value,
        linked_events.latest.new_value as changed_new_value,
        linked_events.latest.event_id as changed_event_id,
        coalesce(linked_events.events, []) as events,
        changes.events_after,
        changes.events_until,
        changes.remediation
    from changes
    left join linked_events
        on changes.dt = linked_events.dt
        and changes.account_id = linked_events.account_id
        and changes.control_id = linked_events.control_id
)

select * from final
