-- Value resolution for the posture controls. Created in the connection of
-- every posture model (dsassets/defs/posture/assets.py).
--
-- Extraction casts the eSignature strings ("true", "False", "30") into the
-- typed columns and refuses garbage. The typed value wins; when it is null,
-- the value is read again from the document as DocuSign sent it (`_raw`),
-- with the same strict rules, so a row written by another tool is still
-- judged. A value that is still missing makes the control unknown, and
-- posture_missing() says why.

-- The text DocuSign sent for a top-level key; null when absent, JSON null,
-- or when the document is not JSON.
create or replace macro posture_raw_text(doc, key) as
    case
        when json_valid(doc) then json_extract_string(doc, '$.' || key)
    end;

create or replace macro posture_bool(typed, doc, key) as
    coalesce(
        typed,
        case lower(trimmed(posture_raw_text(doc, key)))
            when 'true' then true
            when 'false' then false
        end
    );

create or replace macro posture_int(typed, doc, key) as
    coalesce(
        typed,
        case
            when regexp_full_match(
                coalesce(trimmed(posture_raw_text(doc, key)), ''), '[+-]?\d{1,9}'
            )
                then trimmed(posture_raw_text(doc, key))::integer
        end
    );

create or replace macro posture_text(typed, doc, key) as
    lower(
        coalesce(
            blank_to_null(typed), blank_to_null(posture_raw_text(doc, key))
        )
    );

-- Why `key` has no usable value.
create or replace macro posture_missing(doc, key) as
    case
        when doc is null then key || ': no raw document in the snapshot'
        when not json_valid(doc)
            then key || ': the raw document is not valid JSON'
        when posture_raw_text(doc, key) is null
            then key || ': not reported by DocuSign'
        when trimmed(posture_raw_text(doc, key)) = ''
            then key || ': empty value ""'
        else key || ': unreadable value '
            || to_json(posture_raw_text(doc, key))::varchar
    end;

-- pass / fail / unknown from a decision that is null when undecidable.
create or replace macro posture_status(ok) as
    case when ok then 'pass' when not ok then 'fail' else 'unknown' end;

-- 'a@x, b@y and 3 more' from a sorted list.
create or replace macro posture_sample(items, n) as
    array_to_string(items[1:n], ', ')
    || case
        when len(items) > n then ' and ' || (len(items) - n) || ' more'
        else ''
    end;

-- ': a@x, b@y and 3 more' after `prefix`; '' when the list is empty.
create or replace macro posture_listed(prefix, items) as
    case
        when len(items) > 0 then prefix || posture_sample(items, 5)
        else ''
    end;

-- "1 administrator", "3 administrators": a count with its noun in the right number.
create or replace macro posture_count(n, singular, plural) as
    n || ' ' || case when n = 1 then singular else plural end;
