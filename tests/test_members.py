"""Member names as Quiver spells them: one member, however the name is written."""

from __future__ import annotations

import pytest

from trading_automation.domain.members import (
    is_bioguide_id,
    member_identity,
    parse_name,
    same_member,
)


def _same(first: str, second: str) -> bool:
    a, b = parse_name(first), parse_name(second)
    assert a is not None
    assert b is not None
    return same_member(a, b)


# Spellings of one member that Quiver's congress data mixes, and how a person writes them.
@pytest.mark.parametrize(
    ("written", "spelled"),
    [
        ("Tommy Tuberville", "Thomas H. Tuberville"),
        ("Mitch McConnell", "A. Mitchell McConnell, Jr."),
        ("Zoe Lofgren", "Zoë Lofgren"),
        ("nydia velazquez", "Nydia M. Velázquez"),
        ("Angus King", "Angus S. King, Jr."),
        ("Ro Khanna", "Rohit Khanna"),
        ("Dan Crenshaw", "Daniel Crenshaw"),
        ("Rick Scott", "Richard Scott"),
        ("Josh Gottheimer", "Josh S. Gottheimer"),
        ("Michael McCaul", "Michael T. McCaul"),
        ("Debbie Wasserman Schultz", "Deborah Wasserman-Schultz"),
        ("Bill Hagerty", "William F. Hagerty, IV"),
        ("Chuck Fleischmann", "Charles J. Fleischmann"),
        ("Jim Banks", "James E. Hon Banks"),
        ("Gerry Connolly", "Gerald E. Connolly"),
        ("French Hill", "James French Hill"),
        ("Beto O'Rourke", "Beto O\u2019Rourke"),
        ("Marjorie Taylor Greene", "Marjorie Greene"),
        ("Shelley Moore Capito", "Shelley Capito"),
        ("Sen. Ted Cruz", "Rafael Edward Cruz"),
    ],
)
def test_real_world_spellings_of_one_member_match(written: str, spelled: str) -> None:
    assert _same(written, spelled)
    assert _same(spelled, written)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Rick Scott", "Austin Scott"),
        ("Mark Green", "Marjorie Taylor Greene"),
        ("Nancy Pelosi", "Nancy Mace"),
        ("Mike Kelly", "Mark Kelly"),
        ("Al Green", "Mark E. Green"),
    ],
)
def test_different_members_do_not_match(first: str, second: str) -> None:
    assert not _same(first, second)


def test_a_surname_alone_matches_every_member_of_that_surname() -> None:
    assert _same("Pelosi", "Nancy Pelosi")
    assert not _same("Pelosi", "Nancy Mace")


def test_one_transactions_member_reads_the_same_however_spelled() -> None:
    assert member_identity("Thomas H. Tuberville") == member_identity("Tommy Tuberville")
    assert member_identity("A. Mitchell McConnell, Jr.") == "mitchell mcconnell"
    assert member_identity("Zoë  Lofgren") == member_identity("zoe lofgren") == "zoe lofgren"
    assert member_identity("Rick Scott") != member_identity("Austin Scott")


def test_a_name_of_titles_and_initials_only_is_no_name() -> None:
    assert parse_name("Hon. J. R.") is None
    assert parse_name("   ") is None
    assert member_identity(None) == ""


def test_bioguide_ids_are_a_letter_and_six_digits() -> None:
    assert is_bioguide_id("P000197")
    assert is_bioguide_id(" T000278 ")
    assert not is_bioguide_id("p000197")
    assert not is_bioguide_id("P00019")
    assert not is_bioguide_id("Nancy Pelosi")
