"""Monitor pages decoded into columns: shapes the simulator never sends, and both decoders agreeing."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import orjson
import pyarrow as pa
import pytest

from dsassets.lib.clients.monitor_page import (
    COERCED,
    INVALID,
    MalformedEventError,
    MissingEventIdError,
    SeenIds,
    _decode_drifted,
    decode_records,
    envelope_decoder,
    first_sightings,
    raw_texts,
)

UTC = timezone.utc


def rows(texts: list[str]) -> list[dict]:
    return decode_records([t.encode() for t in texts], "c0").to_pylist()


def test_missing_and_extra_fields_are_null_and_kept_in_raw():
    text = '{"eventId":"e1","timestamp":"2026-03-01T10:00:00Z","traceToken":"t-9","nested":{"deep":[1,{"x":null}]}}'
    (row,) = rows([text])
    assert row["eventId"] == "e1" and row["userId"] is None and row["latitude"] is None
    assert row["data"] is None and row["ipAddressLocation"] is None
    assert row["_raw"] == text and row["_invalid_fields"] is None
    assert row["_event_time"] == datetime(2026, 3, 1, 10, tzinfo=UTC)


def test_raw_is_the_text_as_sent_not_a_re_encoding():
    # Spacing, an escaped non-ASCII letter, an escaped slash and a trailing zero: all kept.
    text = '{ "eventId" : "e1", "timestamp":"2026-03-01T10:00:00Z", "city":"caf\\u00e9 \\/ z", "latitude": 1.50 }'
    (row,) = rows([text])
    assert row["_raw"] == text
    assert row["city"] == "café / z" and row["latitude"] == 1.5


def test_nested_data_is_json_text_with_sorted_keys_at_every_level():
    data = {"Zeta": {"b": 2, "a": [3, {"d": 4, "c": 5}]}, "Alpha": "ünïcödé ✓"}
    text = orjson.dumps({"eventId": "e1", "timestamp": "2026-03-01T10:00:00Z", "data": data,
                         "ipAddressLocation": {"longitude": 4.89, "latitude": 52.37}, "userAgentClientInfo": None})
    (row,) = decode_records([text], "c").to_pylist()
    assert row["data"] == '{"Alpha":"ünïcödé ✓","Zeta":{"a":[3,{"c":5,"d":4}],"b":2}}'
    assert json.loads(row["data"]) == data
    assert row["ipAddressLocation"] == '{"latitude":52.37,"longitude":4.89}'
    assert row["userAgentClientInfo"] is None  # a JSON null is no value
    # a nested field sent as a scalar is kept as its JSON text
    (row,) = rows(['{"eventId":"e2","timestamp":"2026-03-01T10:00:00Z","data":"plain"}'])
    assert row["data"] == '"plain"'


def test_unicode_everywhere():
    text = '{"eventId":"é-1","timestamp":"2026-03-01T10:00:00Z","userAgent":"Mözilla 🦊","city":"東京"}'
    (row,) = rows([text])
    assert (row["eventId"], row["userAgent"], row["city"], row["_raw"]) == ("é-1", "Mözilla 🦊", "東京", text)


def test_drifted_values_are_coerced_or_nulled_and_named():
    event = {"eventId": 7, "timestamp": "2026-03-01T10:00:00Z", "result": 1, "site": True,
             "latitude": " 47.5 ", "longitude": "north", "isUserMemberOfDomain": " TRUE",
             "referencedUserIsMemberOfDomain": "", "affectedUserIsMemberOfDomain": 1,
             "proxyType": {"kind": "vpn", "a": 1}, "city": ["x"]}
    (row,) = decode_records([orjson.dumps(event)], "c").to_pylist()
    assert row["eventId"] == "7"  # identity: a number is taken as its text
    assert (row["result"], row["site"], row["latitude"], row["longitude"]) == ("1", "true", 47.5, None)
    assert row["isUserMemberOfDomain"] is True and row["referencedUserIsMemberOfDomain"] is None
    assert row["affectedUserIsMemberOfDomain"] is None and row["proxyType"] is None and row["city"] is None
    assert json.loads(row["_invalid_fields"]) == {
        "affectedUserIsMemberOfDomain": 1, "city": ["x"], "longitude": "north", "proxyType": {"a": 1, "kind": "vpn"}}
    assert row["_invalid_fields"].index('"a"') < row["_invalid_fields"].index('"kind"')  # sorted, as before
    assert set(row[COERCED].split(",")) == {"result", "site", "latitude", "isUserMemberOfDomain"}
    assert set(row[INVALID].split(",")) == {"affectedUserIsMemberOfDomain", "city", "longitude", "proxyType"}


def test_both_decoders_give_the_same_columns_for_a_clean_page():
    events = [{"eventId": f"e{i}", "timestamp": f"2026-03-01T10:00:0{i}.1234567Z", "userId": "u", "latitude": i,
               "longitude": -1.25, "isUserMemberOfDomain": i % 2 == 0, "ipAddress": None,
               "ipAddressLocation": {"city": "x", "latitude": 1}, "data": {}} for i in range(5)]
    raw = raw_texts([orjson.dumps(e) for e in events])
    fast = decode_records([orjson.dumps(e) for e in events], "c")
    assert fast.column(COERCED).null_count == 5
    drifted = _decode_drifted(raw)
    for name in drifted.column_names:
        if name in ("userAgentClientInfo", "ipAddressLocation", "data"):
            continue  # canonicalized after either decoder
        assert fast[name].to_pylist() == drifted[name].to_pylist(), name


def test_a_record_without_an_event_id_is_named():
    with pytest.raises(MissingEventIdError) as info:
        rows(['{"eventId":"a","timestamp":"2026-03-01T10:00:00Z"}', '{"eventId":"","timestamp":"x"}'])
    assert info.value.index == 1 and info.value.record == '{"eventId":"","timestamp":"x"}'
    with pytest.raises(MissingEventIdError) as info:
        rows(['["not", "an", "object"]'])
    assert info.value.index == 0


def test_a_malformed_timestamp_names_the_event_and_the_page():
    with pytest.raises(MalformedEventError, match=r"event 'b' \(page read with cursor 'c0'\): field 'timestamp' has 'soon'"):
        rows(['{"eventId":"a","timestamp":"2026-03-01T10:00:00Z"}', '{"eventId":"b","timestamp":"soon"}'])


def test_an_empty_page_has_the_columns_and_no_rows():
    table = decode_records([], "c")
    assert table.num_rows == 0 and "_raw" in table.column_names


def test_a_pretty_printed_page_keeps_each_record_as_sent():
    body = b'{\n  "endCursor": "c1",\n  "data": [\n    {\n      "eventId": "a",\n      "timestamp": "2026-03-01T10:00:00Z"\n    },\n    {"eventId": "b", "timestamp": "2026-03-01T11:00:00Z", "data": {"k": "v\\nw"}}\n  ]\n}'
    page = envelope_decoder("data").decode(body)
    table = decode_records(page.data, "c0")
    assert table["eventId"].to_pylist() == ["a", "b"]
    assert table["_raw"][0].as_py() == '{\n      "eventId": "a",\n      "timestamp": "2026-03-01T10:00:00Z"\n    }'
    assert table["data"][1].as_py() == '{"k":"v\\nw"}'


def test_a_drifting_field_is_typed_by_sql_and_the_rest_by_pyarrow_with_the_same_result(monkeypatch):
    import dsassets.lib.clients.monitor_page as monitor_page

    monkeypatch.setattr(monitor_page, "_DRIFTING", set())
    events = [{"eventId": f"e{i}", "timestamp": "2026-03-01T10:00:00Z", "userId": "u", "longitude": 2.5,
               "latitude": "47.5" if i % 2 else 47.5, "isUserMemberOfDomain": "TRUE" if i == 3 else True,
               "ipAddressLocation": {"city": "x"}} for i in range(6)]
    texts = [orjson.dumps(e) for e in events]
    mixed = decode_records(texts, "c")
    assert monitor_page._DRIFTING == {"latitude", "isUserMemberOfDomain"}  # learned, for later pages
    everything = _decode_drifted(raw_texts(texts))
    for name in everything.column_names:
        if name not in ("userAgentClientInfo", "ipAddressLocation", "data"):
            assert mixed[name].to_pylist() == everything[name].to_pylist(), name
    assert mixed["latitude"].to_pylist() == [47.5] * 6
    assert mixed[COERCED].to_pylist() == [None, "latitude", None, "isUserMemberOfDomain,latitude", None, "latitude"]
    # a later clean page reads the learned fields with SQL too, and gets the native values
    clean = decode_records([orjson.dumps({**events[0], "eventId": "z"})], "c2")
    assert clean["latitude"].to_pylist() == [47.5] and clean[COERCED].to_pylist() == [None]


def _pages_of_ids(seed: int) -> list[list[str]]:
    """Pages of ids of any shape (not GUIDs), repeating within a page, across pages and far back."""
    rng = np.random.default_rng(seed)
    pool = [f"evt-{n}" if n % 3 else str(n) for n in range(6000)] + ["", "é", "a" * 300]
    return [[pool[i] for i in rng.integers(0, len(pool), size=int(rng.integers(0, 90)))] for _ in range(400)]


def _by_set(pages: list[list[str]]) -> list[list[str]]:
    seen: set[str] = set()
    kept = []
    for ids in pages:
        kept.append([i for i in ids if not (i in seen or seen.add(i))])
    return kept


def test_a_read_keeps_each_event_id_once_whatever_the_pages_repeat():
    pages = _pages_of_ids(7)
    seen = SeenIds()
    got = [first_sightings(pa.table({"eventId": pa.array(ids, pa.string()), "n": range(len(ids))}), seen)
           ["eventId"].to_pylist() for ids in pages]
    assert got == _by_set(pages)  # first sightings, in page order
    assert len(seen) == len({i for ids in pages for i in ids})
    assert sum(map(len, pages)) > 3 * len(seen)  # the pages did repeat
    assert len(seen._runs) <= 12  # and 400 pages' runs were merged as they grew


def test_ids_whose_first_hashes_collide_are_told_apart_by_the_second(monkeypatch):
    # Every id gets the same first hash: only the second one can tell them apart.
    real = SeenIds.hashes.__func__
    monkeypatch.setattr(SeenIds, "hashes", classmethod(lambda cls, ids: (np.zeros(len(ids), np.uint64),
                                                                          real(cls, ids)[1])))
    pages = _pages_of_ids(11)[:60]
    seen = SeenIds()
    got = [first_sightings(pa.table({"eventId": pa.array(ids, pa.string())}), seen)["eventId"].to_pylist()
           for ids in pages]
    assert got == _by_set(pages)
