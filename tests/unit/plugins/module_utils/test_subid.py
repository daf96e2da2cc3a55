"""module_utils/_subid.py: subordinate id files parsed, overlaps named, ranges kept or allocated."""

from __future__ import annotations

import pytest
from ansible_collections.dockprov.docker.plugins.module_utils import _subid as s
from ansible_collections.dockprov.docker.plugins.module_utils._subid import Request, SubidError

UID, GID = "/etc/subuid", "/etc/subgid"


def _files(uid: str, gid: str | None = None) -> dict[str, str]:
    return {UID: uid, GID: uid if gid is None else gid}


def test_parse_skips_comments_and_blank_lines():
    entries = s.parse("# managed by hand\n\nalice:100000:65536\n1001:165536:65536\n", UID)
    assert [(e.owner, e.start, e.count, e.lineno) for e in entries] == [
        ("alice", 100000, 65536, 3), ("1001", 165536, 65536, 4)]
    assert entries[0].end == 165536


@pytest.mark.parametrize("line", ["alice:100000", "alice:x:65536", ":1:2", "alice:1:2:3"])
def test_parse_rejects_malformed_lines(line):
    with pytest.raises(SubidError, match=r"/etc/subuid: line 2 .* is not owner:start:count"):
        s.parse(f"bob:200000:65536\n{line}\n", UID)


def test_overlaps_name_both_lines():
    entries = s.parse("alice:100000:65536\nbob:165536:65536\ncarol:150000:65536\n", UID)
    msgs = s.overlaps(entries, UID)
    assert msgs == [
        "/etc/subuid: line 3 (carol:150000:65536, ids 150000-215535) overlaps line 1 (alice:100000:65536, ids "
        "100000-165535)",
        "/etc/subuid: line 3 (carol:150000:65536, ids 150000-215535) overlaps line 2 (bob:165536:65536, ids "
        "165536-231071)",
    ]


def test_adjacent_and_empty_ranges_do_not_overlap():
    assert s.overlaps(s.parse("a:100000:65536\nb:165536:65536\nc:100000:0\n", UID), UID) == []


def test_existing_overlap_fails_before_anything_is_planned():
    with pytest.raises(SubidError) as err:
        s.plan(_files("alice:100000:65536\nbob:100000:65536\n", "alice:100000:65536\n"), [Request("carol", 1002)])
    msg = str(err.value)
    assert msg.startswith("overlapping subordinate id ranges: /etc/subuid: line 2 (bob:100000:65536")
    assert "overlaps line 1 (alice:100000:65536" in msg
    assert "/etc/subgid" not in msg


def test_user_with_a_big_enough_range_keeps_it():
    files = _files("alice:200000:70000\n")
    texts, ranges = s.plan(files, [Request("alice", 1000)])
    assert texts == files
    assert ranges == {"alice": {UID: {"start": 200000, "count": 70000}, GID: {"start": 200000, "count": 70000}}}


def test_numeric_owner_counts_as_the_user():
    files = _files("1000:100000:65536\n")
    texts, ranges = s.plan(files, [Request("alice", 1000)])
    assert texts == files and ranges["alice"][UID]["start"] == 100000


def test_new_range_is_the_lowest_free_in_both_files():
    files = _files("alice:100000:65536\n", "alice:100000:65536\nzed:300000:65536\n")
    texts, ranges = s.plan(files, [Request("bob", 1001), Request("carol", 1002)])
    # uids and gids line up: the same start in both files, free in both
    assert ranges["bob"] == {UID: {"start": 165536, "count": 65536}, GID: {"start": 165536, "count": 65536}}
    # the gap below zed's range (231072-299999) holds 65536 ids
    assert ranges["carol"][UID] == ranges["carol"][GID] == {"start": 231072, "count": 65536}
    assert texts[UID] == "alice:100000:65536\nbob:165536:65536\ncarol:231072:65536\n"
    assert texts[GID] == "alice:100000:65536\nzed:300000:65536\nbob:165536:65536\ncarol:231072:65536\n"
    # one more does not fit in what is left of the gap: it goes after zed
    _, more = s.plan(texts, [Request("dave", 1003)])
    assert more["dave"][UID]["start"] == 365536


def test_empty_files_start_at_subid_min_and_keep_text_otherwise():
    texts, ranges = s.plan({UID: "", GID: "# comment\n"}, [Request("alice", 1000)])
    assert texts == {UID: "alice:100000:65536\n", GID: "# comment\nalice:100000:65536\n"}


def test_only_one_side_missing_is_added_there():
    texts, ranges = s.plan(_files("alice:100000:65536\n", ""), [Request("alice", 1000)])
    assert texts[UID] == "alice:100000:65536\n"
    assert texts[GID] == "alice:165536:65536\n"  # free in both files


def test_too_small_existing_range_fails_naming_it():
    with pytest.raises(SubidError, match=r"/etc/subuid: alice has only line 1 \(alice:100000:1000.*needs 65536"):
        s.plan(_files("alice:100000:1000\n"), [Request("alice", 1000)])


def test_count_below_65536_is_refused():
    with pytest.raises(SubidError, match="too small"):
        s.plan(_files(""), [Request("alice", 1000, count=1000)])


def test_explicit_start_replaces_the_users_lines_only():
    files = _files("# keep\nalice:100000:65536\nbob:165536:65536\n")
    texts, ranges = s.plan(files, [Request("alice", 1000, start=500000)])
    assert texts[UID] == "# keep\nbob:165536:65536\nalice:500000:65536\n"
    assert ranges["alice"][GID] == {"start": 500000, "count": 65536}
    # already as asked: nothing changes
    again, _ = s.plan(texts, [Request("alice", 1000, start=500000)])
    assert again == texts


def test_explicit_start_overlapping_someone_else_fails():
    with pytest.raises(SubidError, match=r"alice: subid start 150000 overlaps another range: .*bob:165536:65536"):
        s.plan(_files("bob:165536:65536\n"), [Request("alice", 1000, start=150000)])


def test_two_requests_never_get_the_same_range():
    _, ranges = s.plan(_files(""), [Request("a", 1), Request("b", 2), Request("c", 3)])
    starts = sorted(r[UID]["start"] for r in ranges.values())
    assert starts == [100000, 165536, 231072]


def test_second_plan_is_a_no_op():
    texts, _ = s.plan(_files("x:100000:65536\n"), [Request("alice", 1000), Request("bob", 1001)])
    again, _ = s.plan(texts, [Request("alice", 1000), Request("bob", 1001)])
    assert again == texts
