"""Reading a site export (aiha.cleaning.reading), the site profile file
(aiha.cleaning.profiles) and free text (aiha.cleaning.freetext), each from a small
input built inside the test (never at import time: mutmut switches a mutant on
only when a test runs). Expected values are worked out by hand from the inputs.
Written for the mutation run (benchmarks/mutation.md)."""

from __future__ import annotations

import csv
import re
from datetime import date

import pandas as pd
import pytest

from aiha.cleaning import freetext, profiles, reading
from aiha.cleaning.profiles import CleaningLimits, SiteProfile
from aiha.errors import InputError


def site(**over):
    """A site profile built by hand (semicolon, decimal comma, UTF-8)."""
    fields = dict(code="XYZ", name="Test", country="NL", delimiter=";", decimal=",",
                  encoding="utf-8", date_format="%d-%m-%Y", ldh_uln_u_l=250.0,
                  codes={"sex": {"M": "male", "V": "female"},
                         "yes_no": {"JA": True, "NEE": False}})
    fields.update(over)
    return SiteProfile(**fields)


def export(tmp_path, content, name="labs.csv"):
    """Write ``content`` (bytes, or text as UTF-8) to ``tmp_path/name``."""
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def refused(call, *args):
    """The InputError ``call(*args)`` raises."""
    with pytest.raises(InputError) as err:
        call(*args)
    return err.value


def where(err):
    """File, row, column and value an error names."""
    return err.file, err.row, err.column, err.value


# ----------------------------------------------------------------- parse_raw_table

def test_a_table_reads_as_text_cells_with_the_site_delimiter(tmp_path):
    """Header trimmed, cells kept verbatim as text, blank lines skipped, one column per field."""
    path = export(tmp_path, " a ; b ;c\n1; 2 ;x\n\n3;4,5;\n")
    got = reading.parse_raw_table(path, "labs", site())
    assert list(got.columns) == ["a", "b", "c"]
    assert got.values.tolist() == [["1", " 2 ", "x"], ["3", "4,5", ""]]
    assert all(isinstance(v, str) for v in got.values.ravel())


def test_a_header_only_file_is_an_empty_table_of_text_columns(tmp_path):
    """A header without data rows gives zero rows and string-typed columns."""
    got = reading.parse_raw_table(export(tmp_path, "a;b\n"), "labs", site())
    assert list(got.columns) == ["a", "b"] and len(got) == 0
    expected = pd.DataFrame([], columns=["a", "b"], dtype=str)
    assert got.dtypes.tolist() == expected.dtypes.tolist()
    assert str(got.dtypes["a"]) == str(pd.Series([], dtype=str).dtype)


def test_a_header_only_table_has_the_string_dtype_of_a_table_with_rows(tmp_path):
    """With pandas' string inference (the pandas 3 default) empty columns are strings too."""
    with pd.option_context("future.infer_string", True):
        empty = reading.parse_raw_table(export(tmp_path, "a;b\n"), "labs", site())
        full = reading.parse_raw_table(export(tmp_path, "a;b\n1;2\n", "f.csv"), "labs", site())
    assert isinstance(full.dtypes["a"], pd.StringDtype)
    assert empty.dtypes.tolist() == full.dtypes.tolist()


def test_the_site_encoding_decodes_the_file(tmp_path):
    """Latin-1 bytes are read with the profile's encoding (0xe9 is e-acute)."""
    path = export(tmp_path, b"term;x\ncaf\xe9;1\n")
    got = reading.parse_raw_table(path, "labs", site(encoding="latin-1"))
    assert got.values.tolist() == [["caf\u00e9", "1"]]


def test_a_byte_order_mark_is_dropped_and_nothing_else(tmp_path):
    """The BOM before the header goes; a header starting with X keeps its X."""
    path = export(tmp_path, "\ufeffXa;b\n1;2\n")
    assert list(reading.parse_raw_table(path, "labs", site()).columns) == ["Xa", "b"]
    path = export(tmp_path, "Xa;Xb\n1;2\n", "two.csv")
    assert list(reading.parse_raw_table(path, "labs", site()).columns) == ["Xa", "Xb"]


def test_the_comma_delimiter_of_another_site(tmp_path):
    """With delimiter ',' a semicolon is an ordinary character."""
    path = export(tmp_path, "a,b\n1;2,3\n")
    got = reading.parse_raw_table(path, "labs", site(delimiter=",", decimal="."))
    assert got.values.tolist() == [["1;2", "3"]]


def test_a_quoted_field_keeps_its_delimiter_newlines_and_crlf(tmp_path):
    """Quotes protect ';' and a CRLF inside a field; a quote mid-field is read leniently."""
    path = export(tmp_path, b'a;b\r\n"x;\r\ny";z"w"v\r\n')
    got = reading.parse_raw_table(path, "labs", site())
    assert got.values.tolist() == [["x;\r\ny", 'z"w"v']]


def test_a_missing_file_is_named_with_its_table(tmp_path):
    """No file: the error names the path and the table."""
    path = tmp_path / "labs.csv"
    err = refused(reading.parse_raw_table, path, "labs", site())
    assert where(err) == (str(path), None, None, None)
    assert err.message == "missing export file for table 'labs'"


@pytest.mark.parametrize("content", [b"", b" \r\n\t\n"])
def test_an_empty_file_is_refused(tmp_path, content):
    """A file of nothing or only whitespace has no header row."""
    path = export(tmp_path, content)
    err = refused(reading.parse_raw_table, path, "labs", site())
    assert where(err) == (str(path), None, None, None)
    assert err.message == "file is empty (expected a header row)"


def test_bytes_not_in_the_site_encoding_name_byte_and_offset(tmp_path):
    """Byte 0xff at offset 7 is not UTF-8: the message names both and the encoding."""
    path = export(tmp_path, b"a;b\n12;\xff\n")
    err = refused(reading.parse_raw_table, path, "labs", site())
    assert where(err) == (str(path), None, None, None)
    assert err.message == ("not valid utf-8 (byte 0xff at offset 7); re-export with the "
                           "encoding declared in the site profile")


def test_a_low_invalid_byte_is_shown_with_two_hex_digits(tmp_path):
    """Byte 0x80 at offset 0 of an ASCII export: shown as 0x80, the encoding named."""
    path = export(tmp_path, b"\x80a;b\n")
    err = refused(reading.parse_raw_table, path, "labs", site(encoding="ascii"))
    assert where(err) == (str(path), None, None, None)
    assert err.message.startswith("not valid ascii (byte 0x80 at offset 0);")


def test_a_row_with_too_many_fields_names_its_row(tmp_path):
    """Data row 2 (blank lines not counted) has 3 fields for a 2-column header."""
    path = export(tmp_path, "a;b\n1;2\n\n3;4;5\n")
    err = refused(reading.parse_raw_table, path, "labs", site())
    assert where(err) == (str(path), 2, None, None)
    assert err.message == "has 3 fields, header has 2 (delimiter ';' expected)"


def test_a_row_with_too_few_fields_names_the_expected_delimiter(tmp_path):
    """A comma file read with the semicolon profile: row 1 has 1 field, the header 2."""
    path = export(tmp_path, "a;b\n1,2\n")
    err = refused(reading.parse_raw_table, path, "labs", site())
    assert where(err) == (str(path), 1, None, None)
    assert err.message == "has 1 fields, header has 2 (delimiter ';' expected)"


def test_a_field_at_the_size_limit_is_read_and_one_more_is_refused(tmp_path):
    """32768 characters pass; 32769 in row 2, column b, are an error naming the limit."""
    ok = "x" * 32768
    path = export(tmp_path, f"a;b\n1;{ok}\n")
    assert reading.parse_raw_table(path, "labs", site()).loc[0, "b"] == ok
    path = export(tmp_path, f"a;b\n1;2\n3;{ok}y\n", "big.csv")
    err = refused(reading.parse_raw_table, path, "labs", site())
    assert where(err) == (str(path), 2, "b", None)
    assert err.message == ("field of 32769 characters; the limit is 32768 "
                           "(aiha.cleaning.reading.FIELD_SIZE_LIMIT)")


@pytest.mark.parametrize("char,kind", [
    ("\x00", "NUL byte"),
    ("\x01", "not text"),
    ("\x08", "not text"),
    ("\x0b", "not text"),
    ("\x1f", "not text"),
    ("\x7f", "not text"),
])
def test_a_control_character_names_row_column_and_kind(tmp_path, char, kind):
    """A C0 control or DEL in row 2, column b is refused with its code point."""
    path = export(tmp_path, f"a;b\n1;ok\n2;x{char}y\n")
    err = refused(reading.parse_raw_table, path, "labs", site())
    assert where(err) == (str(path), 2, "b", None)
    assert err.message == (f"control character U+{ord(char):04X} ({kind}) in the field; "
                           "re-export as plain text")


@pytest.mark.parametrize("byte", [b"\x80", b"\x85", b"\x9f"])
def test_a_c1_control_suggests_cp1252(tmp_path, byte):
    """U+0080..U+009F in a Latin-1 file: the message suggests cp1252, naming the encoding."""
    path = export(tmp_path, b"a;b\n" + byte + b";2\n")
    err = refused(reading.parse_raw_table, path, "labs", site(encoding="latin-1"))
    assert where(err) == (str(path), 1, "a", None)
    assert err.message == (f"control character U+00{byte.hex().upper()} (C1 control: a "
                           "Windows-1252 file read as latin-1? declare encoding cp1252 in "
                           "the site profile) in the field; re-export as plain text")


def test_tab_newline_and_carriage_return_are_text(tmp_path):
    """Tab, LF and CR inside a quoted field are not control characters to refuse."""
    path = export(tmp_path, 'a;b\n"x\ty\nz\rw";\xa0\n')
    assert reading.parse_raw_table(path, "labs", site()).values.tolist() == [
        ["x\ty\nz\rw", "\xa0"]]


def test_a_duplicated_header_through_the_reader_names_the_file(tmp_path):
    """value and ' VALUE ' (trimmed, any case) at columns 2 and 4 are the same column."""
    path = export(tmp_path, "unit;value;comment; VALUE \n1;2;3;4\n")
    err = refused(reading.parse_raw_table, path, "labs", site())
    assert where(err) == (str(path), None, "VALUE", None)
    assert err.message == ("duplicated column header: columns 2 ('value') and 4 ('VALUE') "
                           "have the same name; each column must be named once")


# ------------------------------------------------------------ check_unique_header

def test_distinct_headers_pass():
    """Different names (even sharing a prefix) are not duplicates."""
    assert reading.check_unique_header(["unit", "units", "value"], "f.csv") is None


def test_the_first_of_three_equal_headers_is_named():
    """Columns 1, 2 and 3 named comment: the error pairs column 1 with column 2."""
    header = ["comment", "Comment", "COMMENT", "unit", "value"]
    err = refused(reading.check_unique_header, header, "f.csv")
    assert where(err) == ("f.csv", None, "Comment", None)
    assert err.message == ("duplicated column header: columns 1 ('comment') and 2 "
                           "('Comment') have the same name; each column must be named once")


def test_a_header_that_reads_as_data_is_not_echoed():
    """A data row taken for the header (not shown) is left to the missing-column check."""
    assert reading.check_unique_header(["12345", "Jan Jansen", "12345"], "f.csv") is None


def test_a_duplicate_of_the_first_column_is_named():
    """unit at columns 1 and 4, with a hidden data-like cell between them."""
    header = ["unit", "value", "comment", "12345", "unit"]
    err = refused(reading.check_unique_header, header, "f.csv")
    assert where(err) == ("f.csv", None, "unit", None)
    assert err.message == ("duplicated column header: columns 1 ('unit') and 5 ('unit') "
                           "have the same name; each column must be named once")


# --------------------------------------------------------------------- _parse_csv

def test_the_csv_field_limit_is_restored_after_reading(tmp_path):
    """The process-wide csv limit is the caller's again after a read and after an error."""
    old = csv.field_size_limit(131072)
    try:
        assert reading._parse_csv("a;b\n1;2\n", ";", "f.csv") == [["a", "b"], ["1", "2"]]
        assert csv.field_size_limit() == 131072
        err = refused(reading._parse_csv, "a\n" + "x" * (64 * 32768 + 1) + "\n", ";", "f.csv")
        assert where(err) == ("f.csv", 1, None, None)
        assert err.message.startswith("not readable as CSV (field larger than field limit")
        assert csv.field_size_limit() == 131072
    finally:
        csv.field_size_limit(old)


def test_a_field_over_the_csv_limit_is_an_error_naming_its_row():
    """A field of 64 x 32768 + 1 characters in data row 2 is beyond the csv limit."""
    old = csv.field_size_limit(131072)
    try:
        text = "a\n1\n" + "x" * (64 * 32768 + 1) + "\n"
        err = refused(reading._parse_csv, text, ";", "f.csv")
        assert where(err) == ("f.csv", 2, None, None)
        assert err.message == ("not readable as CSV (field larger than field limit "
                               "(2097152)); a field may exceed 32768 characters or a quote "
                               "is not closed")
    finally:
        csv.field_size_limit(old)


@pytest.mark.parametrize("text,row", [
    ("x" * (64 * 32768 + 1) + "\n1\n", 1),   # the header itself
    ("a\n" + "x" * (64 * 32768 + 1) + "\n", 1),  # the first data row
    ("a\n1\n2\n" + "x" * (64 * 32768 + 1) + "\n", 3),
])
def test_the_row_of_an_unreadable_field(text, row):
    """The row named is the data row being read, and at least 1."""
    old = csv.field_size_limit(131072)
    try:
        err = refused(reading._parse_csv, text, ";", "f.csv")
        assert where(err) == ("f.csv", row, None, None)
        assert err.message.startswith("not readable as CSV (field larger than field limit")
    finally:
        csv.field_size_limit(old)


def test_a_field_just_at_the_csv_limit_is_read_then_refused_by_size(tmp_path):
    """64 x 32768 characters parse (the reader's margin); the size check names it."""
    old = csv.field_size_limit(131072)
    try:
        big = "x" * (64 * 32768)
        rows = reading._parse_csv("a\n" + big + "\n", ";", "f.csv")
        assert len(rows) == 2 and len(rows[1][0]) == 64 * 32768
        path = export(tmp_path, "a\n" + big + "\n")
        err = refused(reading.parse_raw_table, path, "labs", site())
        assert where(err) == (str(path), 1, "a", None)
        assert err.message.startswith("field of 2097152 characters; the limit is 32768")
    finally:
        csv.field_size_limit(old)


def test_a_larger_limit_set_by_the_caller_is_kept_while_reading():
    """With the caller's limit above the margin, a bigger field still parses."""
    old = csv.field_size_limit(3_000_000)
    try:
        rows = reading._parse_csv("a\n" + "x" * 2_200_000 + "\n", ";", "f.csv")
        assert len(rows[1][0]) == 2_200_000
        assert csv.field_size_limit() == 3_000_000
    finally:
        csv.field_size_limit(old)


def test_an_unclosed_quote_runs_to_the_end_of_the_file():
    """Not strict: an unclosed quote keeps the rest of the text in one field."""
    assert reading._parse_csv('a;b\n1;"2\n3;4\n', ";", "f.csv") == [
        ["a", "b"], ["1", "2\n3;4\n"]]


def test_an_unreadable_field_through_the_reader_names_the_export(tmp_path):
    """The csv error raised while reading an export names that export and the row."""
    old = csv.field_size_limit(131072)
    try:
        path = export(tmp_path, "a;b\n1;2\n3;" + "x" * (64 * 32768 + 1) + "\n")
        err = refused(reading.parse_raw_table, path, "labs", site())
        assert where(err) == (str(path), 2, None, None)
        assert err.message.startswith("not readable as CSV (field larger than field limit")
    finally:
        csv.field_size_limit(old)


def test_carriage_return_line_endings_are_rows(tmp_path):
    """An export with old Mac line endings (CR only) reads row by row."""
    path = export(tmp_path, b"a;b\r1;2\r3;4\r")
    got = reading.parse_raw_table(path, "labs", site())
    assert got.values.tolist() == [["1", "2"], ["3", "4"]]
    assert reading._parse_csv('a\r"x\ry"\r', ";", "f.csv") == [["a"], ["x\ry"]]


# --------------------------------------------------------------------- read_raw_table

LABS = "record_number;sample_date;analyte;value;unit;comment\n"


def test_read_raw_table_returns_the_validated_cells(tmp_path):
    """A valid labs export comes back as its text cells."""
    path = export(tmp_path, LABS + "R1;01-02-2020;HB;7,5;g/dL;\n")
    got = reading.read_raw_table(path, "labs", site())
    assert got.values.tolist() == [["R1", "01-02-2020", "HB", "7,5", "g/dL", ""]]
    assert list(got.columns) == LABS.strip().split(";")


def test_read_raw_table_validates_against_the_named_table(tmp_path):
    """A labs value that is not a number fails the labs schema, naming file, row, column."""
    path = export(tmp_path, LABS + "R1;01-02-2020;HB;7,5;g/dL;\nR1;02-02-2020;HB;high;g/dL;\n")
    err = refused(reading.read_raw_table, path, "labs", site())
    assert where(err) == (str(path), 2, "value", "high")
    assert err.message == "value fails check: must be a number"


def test_read_raw_table_names_a_missing_column(tmp_path):
    """The same file read as transfusions lacks its columns; the error names the file."""
    path = export(tmp_path, LABS + "R1;01-02-2020;HB;7,5;g/dL;\n")
    err = refused(reading.read_raw_table, path, "transfusions", site())
    assert where(err) == (str(path), None, "transfusion_date", None)
    assert err.message.startswith("missing column(s) ['transfusion_date', 'units', 'product']")


def test_read_raw_table_passes_on_reading_errors(tmp_path):
    """A refusal of the reader reaches the caller of read_raw_table unchanged."""
    path = tmp_path / "absent.csv"
    err = refused(reading.read_raw_table, path, "labs", site())
    assert where(err) == (str(path), None, None, None)
    assert err.message == "missing export file for table 'labs'"


# ------------------------------------------------------------------------ parse_date

def test_a_date_in_the_site_format_trimmed():
    """' 23-11-2001 ' with %d-%m-%Y is 23 November 2001."""
    assert reading.parse_date(" 23-11-2001 ", "%d-%m-%Y", "f.csv", 3, "d") == date(2001, 11, 23)


def test_a_date_in_another_format_is_refused_naming_the_format():
    """2001-11-23 is not %d-%m-%Y: file, row, column and the text as given."""
    err = refused(reading.parse_date, "2001-11-23 ", "%d-%m-%Y", "f.csv", 3, "d")
    assert where(err) == ("f.csv", 3, "d", "2001-11-23 ")
    assert err.message == "not a date in the site format %d-%m-%Y"


# ---------------------------------------------------------------------- parse_number

@pytest.mark.parametrize("text,decimal,value", [
    (" 7,5 ", ",", 7.5),
    ("-0,25", ",", -0.25),
    ("12", ",", 12.0),
    ("7.5", ".", 7.5),
    (" -3 ", ".", -3.0),
    ("1e3", ".", 1000.0),
])
def test_a_number_with_the_site_decimal_mark(text, decimal, value):
    """The site's decimal mark is read as the point."""
    got = reading.parse_number(text, decimal, "f.csv", 2, "value")
    assert got == value and type(got) is float


@pytest.mark.parametrize("text,decimal,message", [
    ("7.5", ",", "decimal mark must be ','"),
    ("1.000,5", ",", "decimal mark must be ','"),
    ("7,5", ".", "decimal mark must be '.'"),
    ("1,000.5", ".", "decimal mark must be '.'"),
    ("abc", ",", "not a number"),
    ("", ",", "not a number"),
    ("7,5,1", ",", "not a number"),
    (" ", ".", "not a number"),
    ("nan", ".", "not a finite number"),
    ("NaN", ",", "not a finite number"),
    ("inf", ".", "not a finite number"),
    ("-inf", ".", "not a finite number"),
    ("-Infinity", ",", "not a finite number"),
    ("1e999", ".", "not a finite number"),
    ("-1e999", ".", "not a finite number"),
])
def test_a_number_refused_names_file_row_column_and_text(text, decimal, message):
    """A wrong mark, a non-number and a non-finite number are each refused."""
    err = refused(reading.parse_number, text, decimal, "f.csv", 4, "value")
    assert where(err) == ("f.csv", 4, "value", text)
    assert err.message == message


# ------------------------------------------------------------------------- parse_int

@pytest.mark.parametrize("text,lo,hi,value", [
    (" 7 ", 0, 10, 7),
    ("1", 1, 20, 1),
    ("20", 1, 20, 20),
    ("007", 0, 10, 7),
    ("999999999999999999", 0, 10**19, 999999999999999999),
])
def test_a_whole_number_within_its_range(text, lo, hi, value):
    """Trimmed ASCII digits within [lo, hi], both ends included, up to 18 digits."""
    got = reading.parse_int(text, "f.csv", 2, "units", lo, hi)
    assert got == value and type(got) is int


@pytest.mark.parametrize("text", ["-1", "2.0", "", " ", "1 2", "+3", "\u0663", "\u00b2", "x"])
def test_not_a_whole_number(text):
    """Signs, decimals, blanks and non-ASCII digits are not whole numbers."""
    err = refused(reading.parse_int, text, "f.csv", 5, "units", 0, 10)
    assert where(err) == ("f.csv", 5, "units", text)
    assert err.message == "must be a whole number"


@pytest.mark.parametrize("text,lo,hi,shown", [
    ("0", 1, 20, "0"),
    (" 21 ", 1, 20, " 21 "),
    ("123456789012345678", 0, 100, "123456789012345678"),
    ("1000000000000000000", 0, 10**19, "100000... (19 digits)"),
    (" 12345678901234567890123 ", 0, 10**30, "123456... (23 digits)"),
])
def test_a_whole_number_out_of_range(text, lo, hi, shown):
    """Out of [lo, hi], or over 18 digits: a long one is shown by its first 6 digits."""
    err = refused(reading.parse_int, text, "f.csv", 6, "units", lo, hi)
    assert where(err) == ("f.csv", 6, "units", shown)
    assert err.message == f"whole number out of range (allowed {lo}-{hi})"


# ------------------------------------------------------------------ map_code(_list)

def test_a_code_maps_trimmed_and_upper_cased():
    """' v ' is the site code V: female."""
    assert reading.map_code(" v ", site(), "sex", "f.csv", 1, "sex") == "female"
    assert reading.map_code("ja", site(), "yes_no", "f.csv", 1, "evans") is True


def test_an_unknown_code_lists_the_allowed_ones():
    """'X' is not a sex code of the site: the allowed codes are listed sorted."""
    err = refused(reading.map_code, " x", site(), "sex", "f.csv", 7, "sex")
    assert where(err) == ("f.csv", 7, "sex", " x")
    assert err.message == "unknown sex code; allowed: M, V"


def test_a_code_list_maps_each_item_and_skips_empty_ones():
    """'m; v ;' with ';' is {male, female}; an empty or blank cell maps to nothing."""
    p = site()
    assert reading.map_code_list("m; v ;", ";", p, "sex", "f.csv", 1, "c") == {"male", "female"}
    assert reading.map_code_list("m|m", "|", p, "sex", "f.csv", 1, "c") == {"male"}
    assert reading.map_code_list("", ";", p, "sex", "f.csv", 1, "c") == set()
    assert reading.map_code_list(" ; ;", ";", p, "prior_therapy", "f.csv", 1, "c") == set()


def test_a_code_list_without_its_code_table_names_the_site():
    """Codes but no codes.prior_therapy table: the error names the site and the first code."""
    err = refused(reading.map_code_list, " ; pred ;ivig", ";", site(), "prior_therapy",
                  "f.csv", 3, "prior_therapies")
    assert where(err) == ("f.csv", 3, "prior_therapies", "pred")
    assert err.message == ("the export profile of site XYZ has no codes.prior_therapy table "
                           "to map this column (config data.site_profiles)")


def test_an_unknown_code_in_a_list_is_shown():
    """The unknown item of a list is the value named, not the whole cell."""
    err = refused(reading.map_code_list, "m;q", ";", site(), "sex", "f.csv", 2, "c")
    assert where(err) == ("f.csv", 2, "c", "q")
    assert err.message == "unknown sex code; allowed: M, V"


# ------------------------------------------------------------------------- freetext

@pytest.mark.parametrize("text", [
    "=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "  =1", "\uff1d1", "\uff0b1", "\uff0d1",
    "\uff201",
])
def test_a_formula_gets_a_leading_quote(text):
    """A cell a spreadsheet would run (after leading spaces) is prefixed with '."""
    assert freetext.neutralise_formula(text) == "'" + text


@pytest.mark.parametrize("text", ["", "ok", "1-2", "X=1", "\n=1", "\u00a0=1", "'=1"])
def test_ordinary_text_is_kept(text):
    """Text not starting with a formula character (only spaces are skipped) stays."""
    assert freetext.neutralise_formula(text) == text


def test_clean_text_redacts_identifiers_then_neutralises():
    """A record number of the index is redacted and the formula quoted."""
    from aiha.identifiers import IdentifierIndex

    index = IdentifierIndex()
    index.add_person(record_number="98765432")
    assert freetext.clean_text("=98765432 seen", index) == "'=[redacted] seen"
    assert freetext.clean_text("plain", index) == "plain"
    assert freetext.clean_text("-5 mg", None) == "'-5 mg"


# ------------------------------------------------------------------------- profiles

SITE = """\
sites:
  XYZ:
    name: Test Hospital
    country: NL
    delimiter: ";"
    decimal: ","
    encoding: latin-1
    date_format: "%d-%m-%Y"
    ldh_uln_u_l: 248
    codes:
      sex: {M: male, V: female}
      yes_no: {ja: true, NEE: false}
      diagnosis: {WAIHA: wAIHA, CAD: cAIHA}
      analyte: {HB: hb, LD: ldh, BILI: bilirubin}
      treatment: {Rituximab: aiha_therapy, DARA: daratumumab}
"""


def raw_site(**over):
    """The data of SITE's site XYZ, as a dict (codes copied), with ``over`` applied."""
    p = {"name": "Test Hospital", "country": "NL", "delimiter": ";", "decimal": ",",
         "encoding": "latin-1", "date_format": "%d-%m-%Y", "ldh_uln_u_l": 248,
         "codes": {"sex": {"M": "male", "V": "female"},
                   "yes_no": {"ja": True, "NEE": False},
                   "diagnosis": {"WAIHA": "wAIHA", "CAD": "cAIHA"},
                   "analyte": {"HB": "hb", "LD": "ldh", "BILI": "bilirubin"},
                   "treatment": {"Rituximab": "aiha_therapy", "DARA": "daratumumab"}}}
    p.update(over)
    return p


def with_codes(**tables):
    """raw_site() with code tables replaced or added."""
    p = raw_site()
    p["codes"] = {**p["codes"], **tables}
    return p


def write_yaml(tmp_path, text):
    path = tmp_path / "sites.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def yaml_refused(path):
    """The InputError read_profiles_yaml raises for ``path``: it names the file only."""
    err = refused(profiles.read_profiles_yaml, path)
    assert where(err) == (str(path), None, None, None)
    return err


def check_refused(raw, path="sites.yaml"):
    """The message of the InputError check_profiles raises (file checked too)."""
    err = refused(profiles.check_profiles, raw, path)
    assert (err.file, err.row, err.column, err.value) == (str(path), None, None, None)
    return err.message


def test_a_valid_profile_passes_the_checks():
    """The hand-written site passes; so do equal codes that map to the same value."""
    assert profiles.check_profiles({"sites": {"XYZ": raw_site()}}, "s.yaml") is None
    same = with_codes(sex={"M": "male", " m": "male", "V": "female"})
    assert profiles.check_profiles({"sites": {"XYZ": same}}, "s.yaml") is None
    pt = with_codes(prior_therapy={"PRED": "corticosteroids"})
    assert profiles.check_profiles({"sites": {"XYZ": pt}}, "s.yaml") is None


def test_yaml_reads_yes_and_no_as_strings_and_true_as_boolean(tmp_path):
    """Only true/false are booleans; YES, no, On, off, y and N stay strings."""
    path = write_yaml(tmp_path, "a: {YES: no, On: off, y: N, t: true, f: FALSE, n: 3}\n")
    assert profiles.read_profiles_yaml(path) == {
        "a": {"YES": "no", "On": "off", "y": "N", "t": True, "f": False, "n": 3}}


def test_yaml_is_read_as_utf8(tmp_path):
    """Non-ASCII site codes are read from UTF-8."""
    path = tmp_path / "s.yaml"
    path.write_bytes("k: {S\u00cc: true}\n".encode("utf-8"))
    assert profiles.read_profiles_yaml(str(path)) == {"k": {"S\u00cc": True}}


def test_a_recursive_alias_reads_as_with_the_safe_loader(tmp_path):
    """A sequence that holds itself (an alias to its own anchor) is built, not refused."""
    got = profiles.read_profiles_yaml(write_yaml(tmp_path, "a: &x [1, *x]\n"))
    assert list(got) == ["a"] and len(got["a"]) == 2
    assert got["a"][0] == 1 and got["a"][1] is got["a"]


def test_a_duplicate_key_names_both_lines_and_the_site(tmp_path):
    """name twice in site XYZ (lines 3 and 5): the error names the site and both lines."""
    path = write_yaml(tmp_path, SITE.replace("    country: NL\n",
                                             "    country: NL\n    name: Other\n"))
    err = yaml_refused(path)
    assert err.message == ("site XYZ: not a valid profile file (line 5): key 'name' given "
                           "twice (lines 3 and 5)")


def test_a_duplicate_key_after_a_merge_key_is_refused(tmp_path):
    """A merge key first does not hide a duplicate later in the same mapping."""
    text = "base: &b {x: 1}\nother: {<<: *b, y: 1, y: 2}\n"
    err = yaml_refused(write_yaml(tmp_path, text))
    assert err.message == ("not a valid profile file (line 2): key 'y' given twice "
                           "(lines 2 and 2)")


def test_a_merge_key_is_overridden_and_merged(tmp_path):
    """<< brings in the anchor's keys; a key given beside it wins."""
    text = "base: &b {x: 1, z: 3}\nother:\n  <<: *b\n  x: 2\n"
    assert profiles.read_profiles_yaml(write_yaml(tmp_path, text)) == {
        "base": {"x": 1, "z": 3}, "other": {"x": 2, "z": 3}}


def test_a_duplicate_on_the_site_line_names_that_site(tmp_path):
    """A flow mapping on the site's own line: the site named is the one of that line."""
    text = "sites:\n  AAA: {name: a}\n  BBB: {name: a, name: b}\n  CCC: {name: c}\n"
    err = yaml_refused(write_yaml(tmp_path, text))
    assert err.message == ("site BBB: not a valid profile file (line 3): key 'name' given "
                           "twice (lines 3 and 3)")


def test_a_duplicate_in_an_earlier_site_is_not_blamed_on_a_later_one(tmp_path):
    """The site named is the one holding the line, not the last in the file."""
    text = ("sites:\n  AAA:\n    name: a\n    name: b\n  BBB:\n    name: c\n")
    err = yaml_refused(write_yaml(tmp_path, text))
    assert err.message == ("site AAA: not a valid profile file (line 4): key 'name' given "
                           "twice (lines 3 and 4)")


def test_a_duplicate_outside_the_sites_names_no_site(tmp_path):
    """After the sites section, a top-level key's entries belong to no site."""
    text = "sites:  \n  AAA:\n    name: a\nother:\n  BBB: 1\n  BBB: 2\n"
    err = yaml_refused(write_yaml(tmp_path, text))
    assert err.message == ("not a valid profile file (line 6): key 'BBB' given twice "
                           "(lines 5 and 6)")


def test_a_duplicate_before_the_sites_names_no_site(tmp_path):
    """An anchor block above sites: is not a site."""
    text = "_nl:\n  AB: 1\n  AB: 2\nsites:\n  AMS: {name: a}\n"
    err = yaml_refused(write_yaml(tmp_path, text))
    assert err.message == ("not a valid profile file (line 3): key 'AB' given twice "
                           "(lines 2 and 3)")


def test_a_yaml_syntax_error_names_the_line_and_site(tmp_path):
    """An unclosed flow mapping in site AAA: the parser's problem and line are shown."""
    text = "sites:\n  AAA:\n    codes: {sex: [M\n"
    err = yaml_refused(write_yaml(tmp_path, text))
    assert err.message.startswith("site AAA: not a valid profile file (line 4): ")
    assert err.message.endswith("expected ',' or ']', but got '<stream end>'")


def test_a_yaml_error_without_a_line_shows_the_error(tmp_path):
    """A control character is a reader error without a mark: its text is shown, no line."""
    path = write_yaml(tmp_path, "sites:\n  AAA: \x07\n")
    err = yaml_refused(path)
    assert err.message.startswith("not a valid profile file: unacceptable character #x0007: "
                                  "special characters are not allowed")


def test_site_at_reads_the_sites_section():
    """_site_at follows sites:, its two-space keys and leaving at a top-level key."""
    import tempfile
    from pathlib import Path

    text = "a: 1\nsites:\n  AAA:\n    name: x\n  B_1:\n    name: y\nz:\n  CCC: 1\n"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "s.yaml"
        path.write_text(text, encoding="utf-8")
        got = [profiles._site_at(path, line) for line in range(8)]
    assert got == [None, None, "AAA", "AAA", "B_1", "B_1", None, None]


def test_site_at_outside_any_section_is_none(tmp_path):
    """A blank or indented line before sites: belongs to no site; a lower-case code does."""
    path = tmp_path / "s.yaml"
    path.write_text("\n  AAA: 1\nsites:\n  abc_9:\n    name: x\n", encoding="utf-8")
    assert [profiles._site_at(path, i) for i in range(5)] == [None, None, None, "abc_9", "abc_9"]


def test_an_indented_duplicate_before_any_sites_names_no_site(tmp_path):
    """A file indented from its first line, no sites: section: the error names no site."""
    err = yaml_refused(write_yaml(tmp_path, "  AAA: 1\n  AAA: 2\n"))
    assert err.message == ("not a valid profile file (line 2): key 'AAA' given twice "
                           "(lines 1 and 2)")


def test_the_profile_file_is_utf8_whatever_the_locale(tmp_path):
    """Under an ASCII locale a profile with accents still reads, and its errors name the site."""
    import locale

    good = write_yaml(tmp_path, "sites:\n  CRE:\n    name: H\u00f4pital\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites:\n  CRE:\n    name: H\u00f4pital\n    name: Cr\u00e9teil\n",
                   encoding="utf-8")
    old = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        got = profiles.read_profiles_yaml(good)
        err = yaml_refused(bad)
    finally:
        locale.setlocale(locale.LC_CTYPE, old)
    assert got == {"sites": {"CRE": {"name": "H\u00f4pital"}}}
    assert err.message == ("site CRE: not a valid profile file (line 4): key 'name' given "
                           "twice (lines 3 and 4)")


def test_an_unhashable_key_is_an_error_naming_the_line(tmp_path):
    """'? [a, b]' as a key in site AAA: an InputError naming site and line 3."""
    path = write_yaml(tmp_path, "sites:\n  AAA:\n    ? [a, b]\n    : 1\n")
    err = yaml_refused(path)
    assert err.message == ("site AAA: not a valid profile file (line 3): found an unhashable "
                           "key (a list or mapping used as a key)")


@pytest.mark.parametrize("path,expected", [
    (["sites", "XYZ", "codes", "sex"], ("XYZ", "codes.sex")),
    (["sites", "XYZ"], ("XYZ", "")),
    (["sites"], (None, "sites")),
    ([], (None, "")),
    (["other", "XYZ", "k"], (None, "other.XYZ.k")),
])
def test_key_path_splits_site_and_key(path, expected):
    """A schema path under sites is a site and a dotted key; otherwise all key."""
    assert profiles._key_path(path) == expected


def test_an_unknown_site_key_lists_the_allowed_ones():
    """Keys zeta and alpha are unknown: the first in order is named with the allowed keys."""
    msg = check_refused({"sites": {"XYZ": raw_site(zeta=1, alpha=2)}})
    assert msg == ("site XYZ, key alpha: unknown key; allowed: codes, country, date_format, "
                   "decimal, delimiter, encoding, ldh_uln_u_l, name")


def test_an_unknown_code_table_is_named_with_its_path():
    """codes.colour is not a code table."""
    msg = check_refused({"sites": {"XYZ": with_codes(colour={"R": "red"})}})
    assert msg == ("site XYZ, key codes.colour: unknown key; allowed: analyte, diagnosis, "
                   "outcome, prior_therapy, sex, treatment, yes_no")


def test_a_missing_code_table_is_named():
    """codes without sex: key codes.sex is missing."""
    p = raw_site()
    del p["codes"]["sex"]
    assert check_refused({"sites": {"XYZ": p}}) == "site XYZ, key codes.sex: missing"


def test_the_first_error_in_key_order_is_reported():
    """Two wrong sites: the one first by name is reported, whatever the file order."""
    raw = {"sites": {"BBB": raw_site(country="nl"), "AAA": raw_site(decimal=";")}}
    assert check_refused(raw) == "site AAA, key decimal: value ';' is not one of ., ,"


@pytest.mark.parametrize("over,message", [
    ({"delimiter": ":"}, "site XYZ, key delimiter: value ':' is not one of ,, ;, \t, |"),
    ({"ldh_uln_u_l": "248 U/L"},
     "site XYZ, key ldh_uln_u_l: value '248 U/L' must be of type number"),
    ({"name": 5}, "site XYZ, key name: value 5 must be of type string"),
    ({"country": "nl"}, "site XYZ, key country: value 'nl': 'nl' does not match '^[A-Z]{2}$'"),
    ({"ldh_uln_u_l": 0},
     "site XYZ, key ldh_uln_u_l: value 0: 0 is less than or equal to the minimum of 0"),
])
def test_a_wrong_value_is_named_with_its_site_and_key(over, message):
    """Enum, type and other schema failures each name the value."""
    assert check_refused({"sites": {"XYZ": raw_site(**over)}}) == message


def test_a_yes_no_code_must_map_to_a_boolean():
    """A quoted 'false' is a string, refused for codes.yes_no."""
    raw = {"sites": {"XYZ": with_codes(yes_no={"JA": True, "NEE": "false"})}}
    assert check_refused(raw) == ("site XYZ, key codes.yes_no.NEE: value 'false' must be "
                                  "of type boolean")


def test_errors_outside_a_site_name_the_top_level():
    """A list where the sites mapping belongs; no sites at all; a bad site code."""
    assert check_refused([1]) == "key (top level): value [1] must be of type object"
    assert check_refused({"sites": {}}) == "key sites: value {}: {} should be non-empty"
    assert check_refused({"sites": {"x1": raw_site()}}) == (
        "key sites: value 'x1': 'x1' does not match '^[A-Z]{2,8}$'")


def test_a_prior_therapy_code_must_map_to_a_therapy_type():
    """codes.prior_therapy maps to aiha.therapies.PRIOR_THERAPY_TYPES only."""
    raw = {"sites": {"XYZ": with_codes(prior_therapy={"PRED": "steroid"})}}
    assert check_refused(raw).startswith(
        "site XYZ, key codes.prior_therapy.PRED: value 'steroid' is not one of bortezomib, ")


def test_an_unknown_encoding_is_refused():
    """klingon is no Python codec."""
    raw = {"sites": {"XYZ": raw_site(encoding="klingon")}}
    assert check_refused(raw) == "site XYZ, key encoding: unknown encoding 'klingon'"


@pytest.mark.parametrize("fmt", ["%d-%m", "%m-%Y", "%d-%m-%Y %Q", "%d%%"])
def test_a_date_format_that_does_not_read_back_is_refused(fmt):
    """A format missing a part, or one strptime cannot read, does not read back a date."""
    raw = {"sites": {"XYZ": raw_site(date_format=fmt)}}
    assert check_refused(raw) == (f"site XYZ, key date_format: {fmt!r} does not read back a "
                                  "day, month and year (e.g. %d-%m-%Y)")


def test_a_date_format_repeating_a_directive_is_refused_naming_site_and_key():
    """'%d-%m-%Y %d' cannot be read by strptime: an InputError, not a crash."""
    raw = {"sites": {"XYZ": raw_site(date_format="%d-%m-%Y %d")}}
    assert check_refused(raw) == ("site XYZ, key date_format: '%d-%m-%Y %d' does not read "
                                  "back a day, month and year (e.g. %d-%m-%Y)")


@pytest.mark.parametrize("fmt", ["%Y%m%d", "%d %B %Y", "%y/%m/%d", "%Y-%j"])
def test_a_date_format_that_reads_back_passes(fmt):
    """Any format that reads back the same day passes."""
    assert profiles.check_profiles({"sites": {"XYZ": raw_site(date_format=fmt)}}, "s") is None


def test_the_delimiter_may_not_be_the_decimal_mark():
    """',' as both delimiter and decimal mark is refused."""
    raw = {"sites": {"XYZ": raw_site(delimiter=",", decimal=",")}}
    assert check_refused(raw) == ("site XYZ, key delimiter: the delimiter ',' is also the "
                                  "decimal mark")


def test_two_codes_that_read_the_same_may_not_differ():
    """'m ' and 'M' read the same but map to male and female."""
    raw = {"sites": {"XYZ": with_codes(sex={"m ": "male", "V": "female", "M": "female"})}}
    assert check_refused(raw) == ("site XYZ, key codes.sex: codes 'm ' and 'M' read the same "
                                  "and map to 'male' and 'female'")


def test_the_latest_equal_code_is_compared():
    """'A' then 'a' (same value) then ' a' (another): the message pairs 'a' and ' a'."""
    raw = {"sites": {"XYZ": with_codes(
        treatment={"A": "supportive", "a": "supportive", " a": "daratumumab"})}}
    assert check_refused(raw) == ("site XYZ, key codes.treatment: codes 'a' and ' a' read the "
                                  "same and map to 'supportive' and 'daratumumab'")


@pytest.mark.parametrize("first,second", [("FUSS", "fu\u00df"), ("LI", "l\u0131")])
def test_codes_equal_once_upper_cased_may_not_differ(first, second):
    """'fuß' and 'lı' upper-case to FUSS and LI, the keys the site's table is looked up by."""
    raw = {"sites": {"XYZ": with_codes(
        treatment={first: "supportive", second: "daratumumab"})}}
    assert check_refused(raw) == (f"site XYZ, key codes.treatment: codes {first!r} and "
                                  f"{second!r} read the same and map to 'supportive' and "
                                  "'daratumumab'")


@pytest.mark.parametrize("kind,table,missing", [
    ("sex", {"M": "male", "X": "male"}, "female"),
    ("yes_no", {"JA": True}, "False"),
    ("yes_no", {"NEE": False}, "True"),
    ("diagnosis", {"CAD": "cAIHA"}, "wAIHA"),
    ("analyte", {"HB": "hb"}, "ldh, bilirubin"),
])
def test_each_value_of_a_vocabulary_needs_a_code(kind, table, missing):
    """A code table that leaves out a canonical value is refused, naming it."""
    raw = {"sites": {"XYZ": with_codes(**{kind: table})}}
    assert check_refused(raw) == (f"site XYZ, key codes.{kind}: no site code maps to {missing} "
                                  "(each value of the vocabulary needs one)")


def test_the_site_checks_run_in_order_and_per_site():
    """A later site's error is found after an earlier good site; encoding before dates."""
    raw = {"sites": {"AAA": raw_site(), "BBB": raw_site(encoding="nope", date_format="%d")}}
    assert check_refused(raw) == "site BBB, key encoding: unknown encoding 'nope'"


def test_load_site_profiles_normalises_codes(tmp_path):
    """Codes trimmed and upper-cased, values kept; ldh as float; encoding kept."""
    text = SITE.replace("{M: male, V: female}", '{" m ": male, v: female}')
    got = profiles.load_site_profiles(write_yaml(tmp_path, text))
    assert list(got) == ["XYZ"]
    p = got["XYZ"]
    assert p.codes["sex"] == {"M": "male", "V": "female"}
    assert p.codes["treatment"] == {"RITUXIMAB": "aiha_therapy", "DARA": "daratumumab"}
    assert (p.code, p.encoding, p.ldh_uln_u_l) == ("XYZ", "latin-1", 248.0)


def test_load_site_profiles_checks_the_data(tmp_path):
    """A profile file with an unknown encoding is refused by load_site_profiles."""
    path = write_yaml(tmp_path, SITE.replace("latin-1", "klingon"))
    err = refused(profiles.load_site_profiles, path)
    assert where(err) == (str(path), None, None, None)
    assert err.message == "site XYZ, key encoding: unknown encoding 'klingon'"


def test_cleaning_limits_from_the_config():
    """Config limits as float pairs; the defaults for dose and units unless given."""
    got = CleaningLimits.from_config({
        "hard_limits": {"hb": [1, 25], "dose_mg": ["0", 900]},
        "suspicious_limits": {"hb": [4, "20.5"]},
        "age_years": [18, 99],
    })
    assert got.hard == {"dose_mg": (0.0, 900.0), "transfusion_units": (1.0, 20.0),
                        "hb": (1.0, 25.0)}
    assert got.suspicious == {"hb": (4.0, 20.5)}
    assert got.age_years == (18.0, 99.0)
    values = [*got.hard["hb"], *got.hard["dose_mg"], *got.suspicious["hb"], *got.age_years]
    assert all(type(v) is float for v in values)


def test_cleaning_limits_default_hard_limits():
    """Without dose and units in the config, DEFAULT_HARD's values apply."""
    got = CleaningLimits.from_config({"hard_limits": {}, "suspicious_limits": {},
                                      "age_years": [0, 120]})
    assert got.hard == {"dose_mg": (0.0, 5000.0), "transfusion_units": (1.0, 20.0)}
    assert got.suspicious == {} and got.age_years == (0.0, 120.0)
