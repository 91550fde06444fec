"""Metadata CSVs: a header or record that could be misread is an error naming the file and line."""

from __future__ import annotations

import pytest

from fvc.data.metadata import read_metadata_csv
from fvc.errors import InputError

GOOD = "https://youtu.be/AAAAAAAAAAA"


def _csv(tmp_path, text: str):
    path = tmp_path / "FVC.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_duplicate_column_is_an_error_naming_file_and_column(tmp_path):
    # Before: the second 'label' silently won and every video was labelled real.
    path = _csv(tmp_path, f"cascade_id,video_url,label,label\nf0,{GOOD},fake,real\n")
    with pytest.raises(InputError, match=r"FVC\.csv: duplicate column\(s\) label;"):
        read_metadata_csv(path)


def test_unknown_column_is_an_error_naming_it(tmp_path):
    path = _csv(tmp_path, f"cascade_id,video_url,label,lable\nf0,{GOOD},fake,real\n")
    with pytest.raises(InputError, match=r"FVC\.csv: unknown column\(s\) lable;"):
        read_metadata_csv(path)


def test_columns_in_another_order_are_read_by_name(tmp_path):
    path = _csv(tmp_path, f"label,cascade_id,video_url\nreal,r0,{GOOD}\n")
    df = read_metadata_csv(path)
    assert df[["cascade_id", "label_raw", "video_url"]].values.tolist() == [["r0", "real", GOOD]]


def test_extra_field_names_the_line(tmp_path):
    # Before: an AttributeError traceback (the extra field became a list).
    path = _csv(tmp_path, f"cascade_id,video_url,label\nf0,{GOOD},fake\n\nf1,https://x.org/a,b,fake\n")
    with pytest.raises(InputError, match=r"FVC\.csv:4: 4 fields, expected 3 \(an unquoted comma"):
        read_metadata_csv(path)


def test_missing_field_names_the_line(tmp_path):
    path = _csv(tmp_path, f"cascade_id,video_url,label\nf0,{GOOD},fake\nf1,{GOOD}\n")
    with pytest.raises(InputError, match=r"FVC\.csv:3: 2 fields, expected 3$"):
        read_metadata_csv(path)


def test_unterminated_quote_names_the_line_where_it_opens(tmp_path):
    # Before: the rest of the file was swallowed into one field and accepted.
    path = _csv(tmp_path, f'cascade_id,video_url,label\nf0,{GOOD},fake\nf1,"{GOOD},fake\nf2,{GOOD},fake\n')
    with pytest.raises(InputError, match=r"FVC\.csv:3: unterminated quote"):
        read_metadata_csv(path)


def test_unterminated_quote_in_a_large_file_is_not_blamed_on_field_size(tmp_path):
    rows = "".join(f"f{i},https://youtu.be/A{i:010d},fake\n" for i in range(5000))
    path = _csv(tmp_path, f'cascade_id,video_url,label\nf0,"{GOOD},fake\n' + rows)
    with pytest.raises(InputError, match=r"FVC\.csv:2: .*unterminated quote"):
        read_metadata_csv(path)


def test_text_after_a_closing_quote_names_the_line(tmp_path):
    path = _csv(tmp_path, f'cascade_id,video_url,label\nf0,"{GOOD}"x,fake\n')
    with pytest.raises(InputError, match=r"FVC\.csv:2: text after a closing quote"):
        read_metadata_csv(path)


def test_quoted_fields_and_blank_lines_are_fine(tmp_path):
    path = _csv(tmp_path, f'cascade_id,video_url,label\n"f0","{GOOD}",fake\n\nr1,{GOOD},real\n')
    df = read_metadata_csv(path)
    assert df["cascade_id"].tolist() == ["f0", "r1"]
    assert df["row_id"].tolist() == ["FVC:0", "FVC:1"]


def test_empty_and_non_utf8_files(tmp_path):
    with pytest.raises(InputError, match=r"FVC\.csv: empty file"):
        read_metadata_csv(_csv(tmp_path, ""))
    path = tmp_path / "FVC.csv"
    path.write_bytes(b"cascade_id,video_url,label\nf0,\xff\xfe,fake\n")
    with pytest.raises(InputError, match=r"FVC\.csv: not UTF-8 text"):
        read_metadata_csv(path)
