"""fvc setup: archives or a plain folder -> metadata / videos / unmatched_files tables (and matching)."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import write_csv, write_video
from test_archives import patch_declared_size, write_aes_zip, write_zipcrypto_zip

from fvc.cli import main
from fvc.config import FvcConfig
from fvc.data.setup import run_setup
from fvc.errors import InputError
from fvc.workspace import Workspace

SEED = [
    ("f0", "https://www.youtube.com/watch?v=Y7MJlmbnLQA", "fake"),
    ("f1", "https://www.youtube.com/watch?v=AEPvSo8bE2I", "fake"),
    ("r0", "https://www.facebook.com/somepage/videos/1542574069191584/", "real"),
    ("r1", "https://twitter.com/someone/status/1234567890123456789", "real"),
]
DUP = [
    ("f0", "https://www.youtube.com/watch?v=Y7MJlmbnLQA", "debunked"),  # same id, other label
    ("f0", "https://youtu.be/dupAAAAAAA1", "fake"),
    ("f1", "https://www.youtube.com/watch?v=sharedID001&t=3s", "fake"),
    ("r0", "https://www.youtube.com/watch?v=sharedID001", "real"),  # same id in two cascades
    ("f1", "https://www.youtube.com/watch?v=noFileRow01", "uncertain"),
    ("r0", "https://www.facebook.com/x/videos/999888777/", "parody"),
    ("f1", "https://www.youtube.com/watch?v=realInFake1", "real"),  # original footage of a fake
]
# archive -> member names; notes.txt is not a video and is ignored
LAYOUT = {
    "FVC1.zip": ["FVC1/Y7MJlmbnLQA.mp4", "FVC1/1542574069191584.mp4", "FVC1/f1.mp4", "FVC1/stray.mp4"],
    "FVC2.zip": ["FVC2/sub/dupAAAAAAA1.mkv", "FVC2/sharedID001.mp4", "FVC2/1234567890123456789.mp4",
                 "FVC2/realInFake1.mp4", "FVC2/notes.txt"],
}
EXPECTED = {  # video_id -> (row_id, cascade_ids, platform, label, label_conflict, matched_by)
    "Y7MJlmbnLQA": ("FVC:0", "f0", "youtube", 1, True, "platform_id"),
    "f1": ("FVC:1", "f1", "youtube", 1, False, "cascade_id"),
    "1542574069191584": ("FVC:2", "r0", "facebook", 0, False, "platform_id"),
    "1234567890123456789": ("FVC:3", "r1", "twitter", 0, False, "platform_id"),
    "dupAAAAAAA1": ("FVC_dup:1", "f0", "youtube", 1, False, "platform_id"),
    "sharedID001": ("FVC_dup:2", "f1,r0", "youtube", 1, True, "platform_id"),
    "realInFake1": ("FVC_dup:6", "f1", "youtube", 0, False, "platform_id"),
}


@pytest.fixture(scope="module")
def video_bytes(tmp_path_factory) -> dict[str, bytes]:
    """One tiny encoded video per member name (64x48, 5 frames), made once for the module."""
    folder = tmp_path_factory.mktemp("videos")
    out = {}
    for members in LAYOUT.values():
        for i, name in enumerate(members):
            if name.endswith(".txt"):
                out[name] = b"not a video"
                continue
            path = write_video(folder / Path(name).name, frames=5, seed=len(out) + i)
            out[name] = path.read_bytes()
    return out


def metadata_csvs(folder: Path, seed=SEED, dup=DUP) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "FVC.csv", seed)
    write_csv(folder / "FVC_dup.csv", dup)
    return folder


def build_archives(folder: Path, video_bytes, password="pw", writer=write_aes_zip, seed=SEED, dup=DUP) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for archive, members in LAYOUT.items():
        writer(folder / archive, {m: video_bytes[m] for m in members}, password)
    csv_dir = metadata_csvs(folder / "_csv", seed, dup)
    writer(folder / "Metadata.zip", {f"Metadata/{n}": (csv_dir / n).read_bytes() for n in ("FVC.csv", "FVC_dup.csv")},
           password)
    shutil.rmtree(csv_dir)
    return folder


def check_tables(ws: Workspace, absolute: bool) -> pd.DataFrame:
    videos = ws.read("videos").set_index("video_id")
    assert set(videos.index) == set(EXPECTED)
    for vid, (row_id, cascades, platform, label, conflict, how) in EXPECTED.items():
        v = videos.loc[vid]
        assert (v.row_id, v.cascade_ids, v.platform, int(v.label), bool(v.label_conflict), v.matched_by) == (
            row_id, cascades, platform, label, conflict, how), vid
        path = Path(v.path)
        assert path.is_absolute() == absolute
        assert (path if absolute else ws.root / path).is_file()
    assert videos.loc["Y7MJlmbnLQA", "is_seed"] and not videos.loc["sharedID001", "is_seed"]
    assert str(videos["label"].dtype) == "Int64"

    meta = ws.read("metadata")
    assert len(meta) == len(SEED) + len(DUP)
    no_file = meta[meta["video_id"].isna()]
    assert sorted(no_file["row_id"]) == ["FVC_dup:4", "FVC_dup:5"]
    kept = meta.set_index("row_id")
    assert kept.loc["FVC_dup:4", "label_raw"] == "uncertain" and pd.isna(kept.loc["FVC_dup:4", "label"])
    assert kept.loc["FVC_dup:0", "video_id"] == "Y7MJlmbnLQA"  # the debunked duplicate row points at the same file
    assert kept.loc["FVC_dup:3", "video_id"] == "sharedID001"

    unmatched = ws.read("unmatched_files")
    assert [Path(p).name for p in unmatched["path"]] == ["stray.mp4"]
    return videos


def run_cli(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ex:
        main(argv)
    out, err = capsys.readouterr()
    return ex.value.code, out, err


# ---------------------------------------------------------------- archive mode


def test_archive_mode_then_idempotent_rerun_and_resume(tmp_path, video_bytes):
    src = build_archives(tmp_path / "download", video_bytes)
    ws = Workspace(tmp_path / "ws")
    cfg = FvcConfig()
    rep = run_setup(ws, cfg, src, password="pw")
    n_members = sum(len(m) for m in LAYOUT.values()) + 2
    assert (rep.extracted, rep.skipped) == (n_members, 0)
    assert (rep.rows, rep.rows_matched, rep.rows_without_files, rep.videos) == (11, 9, 2, 7)
    assert rep.label_conflicts == 2
    assert (ws.metadata_dir / "Metadata" / "FVC_dup.csv").is_file()
    assert (ws.raw_dir / "FVC2" / "FVC2" / "sub" / "dupAAAAAAA1.mkv").is_file()
    check_tables(ws, absolute=False)

    tables = {n: ws.read(n) for n in ("metadata", "videos", "unmatched_files")}
    files = sorted(p for p in ws.raw_dir.rglob("*") if p.is_file() and not p.name.startswith(".fvc-extract"))
    for p in files:
        os.utime(p, ns=(10**18, 10**18))
    again = run_setup(ws, cfg, src, password="pw")
    assert (again.extracted, again.skipped) == (0, n_members)
    assert all(p.stat().st_mtime_ns == 10**18 for p in files)
    for name, df in tables.items():
        pd.testing.assert_frame_equal(ws.read(name), df)

    # an extraction killed half-way through one file: only that file is redone
    victim = ws.raw_dir / "FVC1" / "FVC1" / "f1.mp4"
    with victim.open("r+b") as fh:
        fh.truncate(100)
    resumed = run_setup(ws, cfg, src, password="pw")
    assert (resumed.extracted, resumed.skipped) == (1, n_members - 1)
    assert victim.read_bytes() == video_bytes["FVC1/f1.mp4"]
    assert all(p.stat().st_mtime_ns == 10**18 for p in files if p != victim)


def test_cli_zipcrypto_with_env_password(tmp_path, video_bytes, capsys, monkeypatch):
    src = build_archives(tmp_path / "dl", video_bytes, password="zc-pass", writer=write_zipcrypto_zip)
    monkeypatch.setenv("FVC_ARCHIVE_PASSWORD", "zc-pass")
    code, out, err = run_cli(["setup", "--archives", str(src), "-w", str(tmp_path / "ws")], capsys)
    assert code == 0, err
    assert "metadata rows: 11, matched to a file: 9, rows without files: 2" in out
    assert "unmatched files: 1" in out and "stray.mp4" in out
    check_tables(Workspace(tmp_path / "ws"), absolute=False)


def test_labels_follow_config_label_map(tmp_path, video_bytes):
    ws = Workspace(tmp_path / "ws")
    cfg = FvcConfig()
    cfg.data.label_map = {**cfg.data.label_map, "debunked": 1, "uncertain": 0}
    run_setup(ws, cfg, build_archives(tmp_path / "dl", video_bytes), password="pw")
    meta = ws.read("metadata").set_index("row_id")
    assert int(meta.loc["FVC_dup:0", "label"]) == 1 and int(meta.loc["FVC_dup:4", "label"]) == 0
    assert pd.isna(meta.loc["FVC_dup:5", "label"])  # parody still excluded


# ---------------------------------------------------------------- bad input through the CLI


def _unsafe(tmp_path, video_bytes, name):
    src = build_archives(tmp_path / "dl", video_bytes)
    with zipfile.ZipFile(src / "FVC2.zip", "a") as zf:
        zf.writestr(zipfile.ZipInfo(name), b"evil")
    return src


def _bomb(tmp_path, video_bytes):
    src = build_archives(tmp_path / "dl", video_bytes)
    info = zipfile.ZipInfo("FVC3/huge.mp4")
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(src / "FVC3.zip", "w") as zf:
        zf.writestr(info, b"\0" * 64)
    patch_declared_size(src / "FVC3.zip", 4_000_000_000)
    return src


def _symlink(tmp_path, video_bytes):
    src = build_archives(tmp_path / "dl", video_bytes)
    info = zipfile.ZipInfo("FVC3/link.mp4")
    info.create_system = 3
    info.external_attr = (0o120777) << 16
    with zipfile.ZipFile(src / "FVC3.zip", "w") as zf:
        zf.writestr(info, "/etc/passwd")
    return src


def _unknown_label(tmp_path, video_bytes):
    return build_archives(tmp_path / "dl", video_bytes, dup=DUP + [("f0", "https://youtu.be/abcdefgh", "satire")])


def _missing_column(tmp_path, video_bytes):
    src = build_archives(tmp_path / "dl", video_bytes)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("Metadata/FVC.csv", "cascade_id,video_url\nf0,https://youtu.be/abcdefgh\n")
    (src / "Metadata.zip").write_bytes(buf.getvalue())
    return src


BAD_INPUTS = {
    "wrong password": (lambda t, v: build_archives(t / "dl", v), ["--password", "nope"], ["FVC1.zip", "wrong password"]),
    "missing password": (lambda t, v: build_archives(t / "dl", v), [],
                         ["FVC1.zip", "encrypted", "--password", "FVC_ARCHIVE_PASSWORD"]),
    "traversal": (lambda t, v: _unsafe(t, v, "../evil.mp4"), ["--password", "pw"],
                  ["FVC2.zip", "../evil.mp4", "path traversal"]),
    "absolute": (lambda t, v: _unsafe(t, v, "/tmp/evil.mp4"), ["--password", "pw"],
                 ["FVC2.zip", "/tmp/evil.mp4", "absolute path"]),
    "symlink": (_symlink, ["--password", "pw"], ["FVC3.zip", "link.mp4", "symlink"]),
    "zip bomb": (_bomb, ["--password", "pw"], ["FVC3.zip", "huge.mp4", "zip bomb"]),
    "unknown label": (_unknown_label, ["--password", "pw"], ["FVC_dup.csv:9", "unknown label 'satire'"]),
    "missing column": (_missing_column, ["--password", "pw"], ["FVC.csv", "missing column(s) label"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2(tmp_path, video_bytes, capsys, monkeypatch, case):
    monkeypatch.delenv("FVC_ARCHIVE_PASSWORD", raising=False)
    make, extra, needles = BAD_INPUTS[case]
    src = make(tmp_path, video_bytes)
    ws = tmp_path / "ws"
    code, out, err = run_cli(["setup", "--archives", str(src), "-w", str(ws), *extra], capsys)
    assert code == 2
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert not Workspace(ws).has("videos")
    if case not in ("unknown label", "missing column"):
        # every archive is validated before any is extracted or the workspace made: nothing was written
        assert not ws.exists()


# ---------------------------------------------------------------- plain folder mode


def test_plain_folder_references_videos_in_place(tmp_path, video_bytes, capsys):
    dl = metadata_csvs(tmp_path / "my downloads" / "csv")
    dl = dl.parent
    for name, data in video_bytes.items():
        target = dl / "videos" / name  # any depth
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    ws_path = dl / "fvc-workspace"  # workspace inside the folder: its files are never scanned
    stray = ws_path / "stages" / "augment" / "Y7MJlmbnLQA_aug1.mp4"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x")

    code, out, err = run_cli(["setup", "--archives", str(dl), "-w", str(ws_path)], capsys)
    assert code == 0, err
    ws = Workspace(ws_path)
    videos = check_tables(ws, absolute=True)
    assert all(Path(p).is_relative_to(dl / "videos") for p in videos["path"])
    assert not ws.raw_dir.exists()  # videos were not copied
    assert (ws.metadata_dir / "FVC.csv").read_bytes() == (dl / "csv" / "FVC.csv").read_bytes()
    assert "unmatched files: 1" in out

    code, out2, _ = run_cli(["setup", "--archives", str(dl), "-w", str(ws_path)], capsys)
    assert code == 0 and out2 == out


def test_ytdlp_names_and_duplicate_stems(tmp_path, video_bytes, capsys):
    dl = metadata_csvs(tmp_path / "dl")
    clip = video_bytes["FVC1/f1.mp4"]
    (dl / "Some title [dupAAAAAAA1].webm").write_bytes(clip)
    (dl / "a").mkdir()
    (dl / "a" / "Y7MJlmbnLQA.mp4").write_bytes(clip)
    (dl / "b").mkdir()
    (dl / "b" / "Y7MJlmbnLQA.mkv").write_bytes(clip)
    (dl / "._Y7MJlmbnLQA.mp4").write_bytes(b"macOS resource fork")
    (dl / "Unknown clip [zzzzzzzz].mp4").write_bytes(clip)
    ws = Workspace(tmp_path / "ws")
    code, out, err = run_cli(["setup", "--archives", str(dl), "-w", str(ws.root)], capsys)
    assert code == 0, err
    assert "Unknown clip [zzzzzzzz].mp4" in out  # printed verbatim, not eaten as markup
    rep = run_setup(ws, FvcConfig(), dl)
    videos = ws.read("videos").set_index("video_id")
    assert videos.loc["Some title [dupAAAAAAA1]", "row_id"] == "FVC_dup:1"
    assert Path(videos.loc["Y7MJlmbnLQA", "path"]).parent.name == "a"
    unmatched = ws.read("unmatched_files")
    reasons = dict(zip(unmatched["video_id"], unmatched["reason"]))
    assert len(reasons) == 2 and "duplicate video_id" in reasons["Y7MJlmbnLQA"]
    assert "no metadata row" in reasons["Unknown clip [zzzzzzzz]"]
    assert rep.mode == "folder" and rep.videos == 2


@pytest.mark.parametrize(
    ("layout", "problem"),
    [("missing", "folder not found"), ("empty", "no FVC.csv found"), ("csv only", "no video files found")],
)
def test_folder_errors(tmp_path, layout, problem):
    src = tmp_path / "src"
    if layout != "missing":
        src.mkdir()
    if layout == "csv only":
        metadata_csvs(src)
    with pytest.raises(InputError, match=problem) as err:
        run_setup(Workspace(tmp_path / "ws"), FvcConfig(), src)
    assert str(src) in str(err.value)


# ---------------------------------------------------------------- generated corpus end to end


def test_synth_corpus_sets_up_completely(tmp_path, capsys):
    """fvc synth's archives (ZipCrypto and AES, default password) -> setup: every file matches its row."""
    build = pytest.importorskip("fvc.data.synth.build", reason="the generated corpus (fvc synth) is not installed")
    corpus = tmp_path / "corpus"
    build.build_corpus(corpus, n_videos=12, seed=3, max_height=144, max_duration=2.0, workers=1)
    truth = pd.read_csv(corpus / "ground_truth.csv", dtype=str)
    ws = Workspace(tmp_path / "ws")
    code, out, err = run_cli(["setup", "--archives", str(corpus), "-w", str(ws.root),
                              "--password", build.resolve_password(None)], capsys)
    assert code == 0, err
    videos = ws.read("videos")
    assert len(videos) == len(truth) and ws.read("unmatched_files").empty
    merged = videos.assign(file_name=[Path(p).name for p in videos["path"]]).merge(truth, on="file_name")
    assert len(merged) == len(truth)
    assert (merged["label_raw_x"] == merged["label_raw_y"]).all()
    assert (merged["cascade_id_x"] == merged["cascade_id_y"]).all()
    # the report breaks results down by manipulation kind: setup keeps the generated corpus's ground truth
    assert (ws.metadata_dir / "ground_truth.csv").read_bytes() == (corpus / "ground_truth.csv").read_bytes()
    again = run_setup(ws, FvcConfig(), corpus, build.resolve_password(None))
    assert again.extracted == 0 and again.skipped == len(truth) + 2  # + FVC.csv, FVC_dup.csv
    pd.testing.assert_frame_equal(ws.read("videos"), videos)


def test_run_with_wrong_password_leaves_no_workspace(tmp_path, video_bytes, capsys, monkeypatch):
    """`fvc run --archives` checks the archives before it writes fvc.yaml, tables/ or artifacts/."""
    monkeypatch.delenv("FVC_ARCHIVE_PASSWORD", raising=False)
    src = build_archives(tmp_path / "dl", video_bytes)
    ws = tmp_path / "ws"
    code, out, err = run_cli(["run", "--archives", str(src), "-w", str(ws), "--password", "nope",
                              "--no-tracking"], capsys)
    assert code == 2 and "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "FVC1.zip" in lines[0] and "wrong password" in lines[0], err
    assert not ws.exists()
