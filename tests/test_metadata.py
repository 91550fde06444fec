import pandas as pd
import pytest

from fvc.data.metadata import load_metadata, parse_platform_id, read_metadata_csv
from fvc.errors import InputError

from conftest import write_csv


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://www.youtube.com/watch?v=Y7MJlmbnLQA", ("youtube", "Y7MJlmbnLQA")),
        ("https://www.youtube.com/watch?feature=share&v=Ab-_9xYz012", ("youtube", "Ab-_9xYz012")),
        ("https://youtu.be/Y7MJlmbnLQA", ("youtube", "Y7MJlmbnLQA")),
        ("https://www.facebook.com/lioncityfeed/videos/916632151837497/", ("facebook", "916632151837497")),
        ("https://www.facebook.com/1426721884211678/videos/1880249188858943/", ("facebook", "1880249188858943")),
        ("https://twitter.com/DannyDutch/status/668495176038510592", ("twitter", "668495176038510592")),
        ("https://example.org/clip", ("other", None)),
    ],
)
def test_parse_platform_id(url, expected):
    assert parse_platform_id(url) == expected


def test_labels_map_and_keep_raw(tmp_path):
    write_csv(tmp_path / "FVC.csv", [("f0", "https://youtu.be/AAAAAAAAAAA", "fake"), ("r0", "https://youtu.be/BBBBBBBBBBB", "real")])
    write_csv(
        tmp_path / "FVC_dup.csv",
        [
            ("f0", "https://twitter.com/u/status/123", "uncertain"),
            ("f0", "https://twitter.com/u/status/124", "real"),
            ("f0", "https://twitter.com/u/status/125", "parody"),
        ],
    )
    df = load_metadata(tmp_path)
    assert list(df["label_raw"]) == ["fake", "real", "uncertain", "real", "parody"]
    assert df["label"].tolist()[:2] == [1, 0]
    assert pd.isna(df["label"].iloc[2]) and pd.isna(df["label"].iloc[4])
    # a real original inside a fake cascade keeps label 0
    assert df["label"].iloc[3] == 0 and df["cascade_id"].iloc[3] == "f0"
    assert df["is_seed"].tolist() == [True, True, False, False, False]


def test_label_map_option_maps_extra_labels(tmp_path):
    path = write_csv(tmp_path / "FVC_dup.csv", [("f0", "https://youtu.be/AAAAAAAAAAA", "debunked")])
    df = read_metadata_csv(path, label_map={"fake": 1, "real": 0, "uncertain": None, "debunked": 1, "parody": None})
    assert df["label"].iloc[0] == 1


def test_unknown_label_names_row(tmp_path):
    path = write_csv(tmp_path / "FVC.csv", [("f0", "https://youtu.be/AAAAAAAAAAA", "fake"), ("f1", "https://youtu.be/B", "satire")])
    with pytest.raises(InputError, match=r"FVC\.csv:3: unknown label 'satire'"):
        read_metadata_csv(path)


def test_missing_column(tmp_path):
    path = tmp_path / "FVC.csv"
    path.write_text("cascade_id,video_url\nf0,https://youtu.be/AAAAAAAAAAA\n")
    with pytest.raises(InputError, match="missing column.*label"):
        read_metadata_csv(path)


def test_missing_main_csv(tmp_path):
    with pytest.raises(InputError, match="no FVC.csv"):
        load_metadata(tmp_path)
