-- Macros of multiple_failed_logins' sessions, created in every detection
-- connection (dsassets/lib/detections/engine.py) and in the connection of its
-- baseline of session fragments (sql/baselines/det_baseline_signin_sessions.sql),
-- which has no IP tables for macros.sql's ip_classes.

-- A sign-in attempt of a session: interactive, plus non-interactive with
-- det_include_non_interactive.
create or replace temp macro is_session_signin(signin_class) as
    signin_class in ('interactive_success', 'interactive_failure')
    or (
        getvariable('det_include_non_interactive')
        and signin_class in ('non_interactive_success', 'non_interactive_failure')
    );

-- Whether an attempt (or fragment) starting at this_start opens a new session:
-- nothing before it, or more than det_session_gap_minutes of silence since the
-- previous one ended. The baseline's fragments and the detection's join of them
-- must split on the same rule, or sessions stitched across midnight would differ.
-- In microseconds, as touches_midnight below says why.
create or replace temp macro starts_session(previous_end, this_start) as
    previous_end is null
    or epoch_us(this_start) - epoch_us(previous_end)
    > getvariable('det_session_gap_minutes')::bigint * 60000000;

-- Whether a fragment (a user's sign-ins of day dt, first_at to last_at) comes
-- within det_session_gap_minutes of one of its day's midnights, so a session of
-- the day before or after may continue it; one that does not is a whole
-- session. In microseconds since the epoch: plain integers, where timestamptz
-- minus an interval goes through ICU's calendar, about 20 times slower a row
-- (every connection's TimeZone is UTC, so dt's midnight is dt::timestamp's).
create or replace temp macro touches_midnight(dt, first_at, last_at) as
    epoch_us(first_at) - getvariable('det_session_gap_minutes')::bigint * 60000000
    <= epoch_us(dt::timestamp)
    or epoch_us(last_at) + getvariable('det_session_gap_minutes')::bigint * 60000000
    >= epoch_us((dt + 1)::timestamp);
