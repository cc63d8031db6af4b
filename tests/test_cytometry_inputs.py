"""The cytometry sample sheet: pandera validation, sheet/file agreement,
pseudonymized metadata with days from the first dose."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from aiha.cytometry import samplesheet
from aiha.errors import InputError
from aiha.pseudonym import pseudonymize

KEY = b"0123456789abcdef-test-key"
HEADER = "sample_id,file,site,record_number,tube,visit,collection_date\n"
ROWS = [
    "S1-PH,S1-PH.fcs,AMS,AMC-1,phenotype,baseline,2022-04-01\n",
    "S1-FN,S1-FN.fcs,AMS,AMC-1,function,baseline,2022-04-01\n",
    "S2-PH,S2-PH.fcs,AMS,AMC-1,phenotype,week2,2022-04-18\n",
]


def sheet_dir(tmp_path: Path, rows=ROWS, files=("S1-PH.fcs", "S1-FN.fcs", "S2-PH.fcs")) -> Path:
    for f in files:
        (tmp_path / f).write_bytes(b"FCS3.1")
    path = tmp_path / "samples.csv"
    path.write_text(HEADER + "".join(rows))
    return path


def test_valid_sheet_gives_pseudonymized_days(tmp_path: Path):
    path = sheet_dir(tmp_path)
    sheet = samplesheet.read_sample_sheet(path)
    samplesheet.check_files(sheet, path)
    pid = pseudonymize("AMS", "AMC-1", KEY)
    patients = pd.DataFrame({"patient_id": [pid], "first_dose_date": ["2022-04-04"]})
    table = samplesheet.sample_table(sheet, patients, KEY)
    assert list(table.columns) == samplesheet.SAMPLES_COLUMNS
    assert sorted(table["day"]) == [-3, -3, 14]
    assert set(table["patient_id"]) == {pid}
    assert "AMC-1" not in table.to_csv()


@pytest.mark.parametrize(
    "row, column, value",
    [
        ("S3,S3.fcs,AMS,AMC-1,phenotyp,week4,2022-05-02\n", "tube", "phenotyp"),
        ("S3,S3.fcs,AMS,AMC-1,phenotype,week4,2022-13-02\n", "collection_date", "2022-13-02"),
        ("S3,S3.txt,AMS,AMC-1,phenotype,week4,2022-05-02\n", "file", "S3.txt"),
        ("S1-PH,S3.fcs,AMS,AMC-1,phenotype,week4,2022-05-02\n", "sample_id", "S1-PH"),
    ],
)
def test_bad_row_names_row_column_value(tmp_path: Path, row: str, column: str, value: str):
    path = sheet_dir(tmp_path, rows=[*ROWS, row])
    with pytest.raises(InputError) as err:
        samplesheet.read_sample_sheet(path)
    e = err.value
    assert (e.file, e.column, e.value) == (str(path), column, value)
    assert e.row in (1, 4)  # the duplicate sample_id is reported at its first row


def test_row_without_file(tmp_path: Path):
    path = sheet_dir(tmp_path, files=("S1-PH.fcs", "S1-FN.fcs"))
    with pytest.raises(InputError) as err:
        samplesheet.check_files(samplesheet.read_sample_sheet(path), path)
    assert (err.value.row, err.value.column, err.value.value) == (3, "file", "S2-PH.fcs")


def test_file_without_row(tmp_path: Path):
    path = sheet_dir(tmp_path, files=("S1-PH.fcs", "S1-FN.fcs", "S2-PH.fcs", "stray.fcs"))
    with pytest.raises(InputError) as err:
        samplesheet.check_files(samplesheet.read_sample_sheet(path), path)
    assert err.value.file.endswith("stray.fcs") and err.value.value == "stray.fcs"


def test_patient_missing_from_clinical_table(tmp_path: Path):
    path = sheet_dir(tmp_path)
    patients = pd.DataFrame({"patient_id": ["PT-00000000"], "first_dose_date": ["2022-04-04"]})
    with pytest.raises(InputError) as err:
        samplesheet.sample_table(samplesheet.read_sample_sheet(path), patients, KEY, str(path))
    assert err.value.row == 1 and err.value.column == "record_number"
    assert "AMC-1" not in str(err.value)  # the message carries the pseudonym only
