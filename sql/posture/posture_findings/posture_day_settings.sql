-- posture_day_settings
-- grain:       one row per account and day: that day's latest account-settings
--              snapshot
-- primary key: (dt, account_id)
-- window:      window_start <= dt < window_end
-- lookbacks:   none: a day without a snapshot has no row (an older snapshot is
--              never carried forward)

select * from stg_docusign__account_settings
where in_window(dt) and account_id is not null
qualify
    row_number() over (
        partition by dt, account_id order by snapshot_taken_at desc
    ) = 1
