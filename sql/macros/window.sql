-- The model window: every model reads the days window_start <= dt < window_end
-- (both `date` variables, set before a model runs; see dsassets/lib/transform/sql.py).
-- A macro is expanded where it is used, so the filter still prunes partitions.
create or replace macro in_window(day) as
    day >= getvariable('window_start') and day < getvariable('window_end');

-- One row per day of the window, for the snapshot marts (users,
-- user_accounts) that hold a state for every day.
create or replace macro window_days() as table
    select
        unnest(
            generate_series(
                getvariable('window_start')::date,
                getvariable('window_end')::date - 1,
                interval 1 day
            )
        )::date as day;

-- The days before the window a mart's history part reads (Model.history;
-- dsassets/lib/transform/history.py): history_from <= dt < window_start, where
-- history_from is the first day no monthly rollup holds.
create or replace macro in_history(day) as
    day >= getvariable('history_from') and day < getvariable('window_start');
