"""dfps_dps_send's pure parts: name variants, records kept, fixed-width lines, the run's period."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pendulum
import pytest

from etl_bundle.dfps.children import (
    LINE_WIDTH,
    Child,
    InvalidLineError,
    earliest_exit_per_entry,
    first_name_variants,
    fixed_width_line,
    fixed_width_lines,
    last_name_variants,
    prepare,
    sex_code,
    transliterate,
    validate_lines,
)
from etl_bundle.dfps.periods import period_for_run, previous_year_for_run


def child(person_id=1, first="José", last="García-López", birth=date(2010, 2, 28), entered=date(2024, 9, 5), **more):
    fields = {"middle": None, "exited": None, "gender": "Male"} | more
    return Child(person_id, first, fields["middle"], last, birth, entered, fields["exited"], fields["gender"])


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        ("García-López", ["GARCIALOPEZ", "GARCIA", "LOPEZ"]),
        ("De La Cruz", ["DELACRUZ", "CRUZ"]),
        ("St. John", ["STJOHN", "JOHN"]),
        ("O'Neil", ["ONEIL"]),
        ("Smith Jr.", ["SMITHJR", "SMITH"]),
        ("Nguyễn", ["NGUYEN"]),
        ("Van der Berg", ["VANDERBERG", "VAN", "DER", "BERG"]),
        # The particles are left out of space parts only, never hyphen parts.
        ("Mc-Donald", ["MCDONALD", "MC", "DONALD"]),
        # Every hyphen variant is split on spaces in turn.
        ("Smith-De La Rosa", ["SMITHDELAROSA", "SMITHDE", "ROSA", "SMITH", "DELAROSA"]),
        # Five space parts at most, the rest left in the last.
        ("A B C D E F", ["ABCDEF", "B", "C", "D", "EF"]),
        ("Đặng", ["DANG"]),
        ("Østergaard", ["OSTERGAARD"]),
    ],
)
def test_last_name_variants(last, expected):
    assert last_name_variants(last) == expected


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        ("María-José", ["MARIAJOSE", "MARIA", "JOSE"]),
        ("D'Andre", ["DANDRE", "ANDRE"]),
        ("Mary Ann", ["MARYANN", "MARY", "ANN"]),
        ("Zoë", ["ZOE"]),
        ("Li", []),  # two characters or fewer
        ("Nan", []),  # the literal NAN
        ("Anne-Li", ["ANNELI", "ANNE"]),
        ("Jo-Ann Marie", ["JOANNMARIE", "JOANN", "MARIE", "ANNMARIE", "ANN"]),
        # Three space parts at most; punctuation other than - ' and space survives in first names.
        ("Mary Ann Lou Beth", ["MARYANNLOUBETH", "MARY", "ANN", "LOUBETH"]),
        ("J.R.", ["J.R."]),
        ("St. Clair", ["ST.CLAIR", "ST.", "CLAIR"]),
    ],
)
def test_first_name_variants(first, expected):
    assert first_name_variants(first) == expected


def test_accents_and_sex_codes():
    assert transliterate("Anaïs Peña Ñandú") == "Anais Pena Nandu"
    assert (transliterate("Đặng"), transliterate("Østergaard")) == ("Dang", "Ostergaard")
    # As the original's map: only the words Male and Female have a letter.
    assert [sex_code(g) for g in ("Male", "female", "F", "Unknown", None)] == ["M", "F", "U", "U", "U"]


def test_one_record_per_person_and_entry_keeps_the_earliest_exit():
    open_ended = child(exited=None)
    later = child(exited=date(2025, 1, 10))
    earlier = child(exited=date(2024, 12, 1))
    other_entry = child(entered=date(2023, 1, 1), exited=date(2023, 5, 1))
    kept = earliest_exit_per_entry([open_ended, later, earlier, other_entry])
    assert sorted(c.exited for c in kept) == [date(2023, 5, 1), date(2024, 12, 1)]


def test_prepare_expands_variants_and_counts_what_it_drops():
    prepared = prepare(
        [
            child(1, "María-José", "De La Cruz", birth=date(2008, 2, 29), middle="Ángel"),
            child(2, "Li", "Smith"),
            child(3, "Kevin", "Peña", birth=None),
            child(4, "Kevin", "Peña", entered=None),
            child(5, "  ", "Peña"),
            child(6, "Kevin", None),
        ]
    )
    assert prepared.dropped == {
        "no_birth_or_entry_date": 2,
        "implausible_birth_date": 0,
        "blank_first_or_last_name": 2,
        "no_usable_last_name": 0,
        "no_usable_first_name": 1,
    }
    names = [row["Name"] for row in prepared.rows]
    assert names == [f"{last},{first}" for last in ("DELACRUZ", "CRUZ") for first in ("MARIAJOSE", "MARIA", "JOSE")]
    row = prepared.rows[0]
    assert (row["Person_ID"], row["Date_of_Birth"], row["Sex"], row["Middle_Name"]) == (
        "1",
        date(2008, 2, 29),
        "M",
        "ANGEL",
    )


def numbered(*children: Child) -> list[Child]:
    return [replace(c, row=number) for number, c in enumerate(children, start=1)]


@pytest.mark.parametrize("last", ["☃", "🙂🙂", "--", " . ", "ﷺ"])
def test_a_last_name_with_nothing_left_after_the_rules_is_dropped_counted_and_told(last):
    prepared = prepare(numbered(child(1, "Kevin", "Peña"), child(2, "Kevin", last)))
    assert prepared.dropped["no_usable_last_name"] == 1 and prepared.persons == 1
    assert {row["Person_ID"] for row in prepared.rows} == {"1"}
    assert prepared.problems == [
        "row 2 (person 2): field NM_PERSON_LAST has no letter or digit left after the name rules:"
        " dropped (no_usable_last_name)"
    ]


def test_every_row_read_is_sent_merged_or_dropped_and_each_drop_is_told():
    prepared = prepare(
        numbered(
            child(1, "Kevin", "Peña"),
            child(1, "Kevin", "Peña", exited=date(2024, 12, 1)),  # the same care entry: merged
            child(2, "Kevin", "Lee", birth=date(2025, 1, 1)),  # born after entering care
            child(3, "Kevin", "Lee", birth=date(1899, 12, 31)),  # a placeholder date
            child(4, "   ", "Lee"),
            child(5, "Kevin", "王"),  # transliterated: WANG, sent
        )
    )
    assert prepared.merged == 1 and prepared.persons == 2
    assert prepared.dropped["implausible_birth_date"] == 2 and prepared.dropped["blank_first_or_last_name"] == 1
    assert [problem.split(":")[0] for problem in prepared.problems] == [
        "row 3 (person 2)",
        "row 4 (person 3)",
        "row 5 (person 4)",
    ]
    assert "field DT_CHILD_BIRTH is after DT_ENTER_CARE" in prepared.problems[0]
    assert "field NM_PERSON_FIRST is blank" in prepared.problems[2]
    assert "WANG,KEVIN" in {row["Name"] for row in prepared.rows}


def test_control_characters_are_removed_from_names_and_told_never_shown():
    prepared = prepare(numbered(child(1, "Ke\x00vin\n", "Pe\tña", middle="A\x1fB")))
    assert {row["Name"] for row in prepared.rows} == {"PENA,KEVIN"}
    assert prepared.rows[0]["Middle_Name"] == "AB"
    assert prepared.problems == [
        f"row 1 (person 1): field {column} holds control characters: removed"
        for column in ("NM_PERSON_FIRST", "NM_PERSON_MIDDLE", "NM_PERSON_LAST")
    ]
    validate_lines(fixed_width_lines(prepared.rows), "x.txt")


def test_fixed_width_lines_are_41_characters_and_truncate_long_names():
    row = {"Name": "WOLFESCHLEGELSTEINHAUSENBERGERDORFF,HUBERT", "Date_of_Birth": date(2008, 2, 29), "Sex": "U"}
    line = fixed_width_line(row)
    assert len(line) == LINE_WIDTH and line == "WOLFESCHLEGELSTEINHAUSENBERGER2008-02-29U"
    short = fixed_width_line({"Name": "CRUZ,JOSE", "Date_of_Birth": date(2010, 1, 2), "Sex": "M"})
    assert short == "CRUZ,JOSE" + " " * 21 + "2010-01-02M"
    validate_lines([line, short], "Children_in_care_FY2025_Q1.txt")


def test_the_fixed_width_file_has_one_line_per_name_birth_and_sex():
    # One child with two care entries: two reference rows per variant, one line each.
    prepared = prepare(
        [
            child(7, "Ann", "Lee", entered=date(2023, 1, 5), exited=date(2023, 3, 1)),
            child(7, "Ann", "Lee", entered=date(2024, 10, 1)),
        ]
    )
    assert len(prepared.rows) == 2
    assert fixed_width_lines(prepared.rows) == ["LEE,ANN" + " " * 23 + "2010-02-28M"]


def test_first_name_punctuation_is_valid_in_a_line():
    validate_lines([fixed_width_line({"Name": "SMITH,J.R.", "Date_of_Birth": date(2010, 1, 2), "Sex": "F"})], "x.txt")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("CRUZ,JOSE" + " " * 21 + "2010-01-02", "line 2: 40 characters, expected 41"),
        ("CRUZ,JOSÉ" + " " * 21 + "2010-01-02M", "line 2: field name"),
        ("CRUZ,JOSE" + " " * 21 + "2010-01-02X", "line 2: field date of birth or sex"),
    ],
)
def test_a_bad_line_is_named_by_file_and_number_without_its_data(bad, message):
    good = "CRUZ,JOSE" + " " * 21 + "2010-01-02M"
    with pytest.raises(InvalidLineError, match=f"Children_in_care_FY2025_Q1.txt {message}") as error:
        validate_lines([good, bad], "Children_in_care_FY2025_Q1.txt")
    assert "CRUZ" not in str(error.value) and "2010" not in str(error.value)
    with pytest.raises(InvalidLineError, match="no lines"):
        validate_lines([], "Children_in_care_FY2025_Q1.txt")


def test_the_period_comes_from_the_param_or_the_data_interval_never_now():
    assert period_for_run("FY2025", None, "America/Chicago") == "FY2025"
    start = pendulum.datetime(2024, 12, 1, tz="America/Chicago")
    assert period_for_run(None, start, "America/Chicago") == "FY2025_Q2"
    # A UTC instant just before Central midnight still belongs to the Central quarter.
    assert period_for_run(None, pendulum.datetime(2024, 12, 1, 5, 59), "America/Chicago") == "FY2025_Q1"
    with pytest.raises(Exception, match="set the period Param"):
        period_for_run(None, None, "America/Chicago")
    with pytest.raises(ValueError, match="fiscal period label"):
        period_for_run("2025Q1", start, "America/Chicago")


def test_the_yearly_run_reports_the_fiscal_year_that_ended_before_it():
    assert previous_year_for_run(None, pendulum.datetime(2025, 9, 20, 6, tz="America/Chicago"), "America/Chicago") == (
        "FY2025"
    )
    # Aug 31 still belongs to FY2025, so its previous year is FY2024.
    assert previous_year_for_run(None, pendulum.datetime(2025, 8, 31, 23, tz="America/Chicago"), "UTC") == "FY2025"
    assert previous_year_for_run(None, pendulum.datetime(2025, 8, 31, 12, tz="America/Chicago"), "America/Chicago") == (
        "FY2024"
    )
    assert previous_year_for_run("FY2023", None, "America/Chicago") == "FY2023"
    with pytest.raises(Exception, match="set the period Param"):
        previous_year_for_run(None, None, "America/Chicago")


def test_what_the_original_sent_is_read_from_the_variable_and_its_stamped_copies():
    from etl_bundle.common.fiscal import FiscalPeriod
    from etl_bundle.dfps.switchover import listed_periods, original_delivery

    assert listed_periods(" FY2025_Q1, FY2025 ,") == {"FY2025_Q1", "FY2025"}
    assert listed_periods(None) == set()
    with pytest.raises(ValueError, match="Q5"):
        listed_periods("FY2025_Q5")
    names = [
        "Children_in_care_FY2025_Q2_20250310_091500.txt",
        "Children_in_care_FY2025_Q2_20250311_080000.txt",
        "Children_in_care_FY2025_20250920_101500.txt",
        "ReferenceData_FY2025_Q1_doublebarrel_20241210_090000.xlsx",
        "Children_in_care_FY2025_Q1.txt",
    ]
    assert original_delivery(names, FiscalPeriod.parse("FY2025_Q2")) == names[1]
    assert original_delivery(names, FiscalPeriod.parse("FY2025")) == names[2]
    # Neither the reference workbook nor an unstamped name is the original's delivery.
    assert original_delivery(names, FiscalPeriod.parse("FY2025_Q1")) is None
