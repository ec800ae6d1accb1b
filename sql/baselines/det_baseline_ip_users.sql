-- det_baseline_ip_users
-- grain:       one row per address and user of the organization's directory
--              (a user with an e-mail) with a successful interactive
--              sign-in from it that day
-- primary key: (dt, ip_hex, user_id)
-- window:      window_start <= dt < window_end
-- lookback:    none: a day's rows come from that day's activities only
-- read by:     anonymous_ip and suspicious_ip: an address where enough other
--              users signed in this way on 2+ days of det_widely_used_days is
--              mis-tagged. Failures and one-off sign-ins never count, so an
--              attacker cannot switch the alert off

with

final as (
    select dt, ip_hex, user_id
    from activities
    where
        dt >= getvariable('window_start')
        and dt < getvariable('window_end')
        and signin_class = 'interactive_success'
        and user_email is not null
        and ip_hex is not null
    group by all
)

select * from final
