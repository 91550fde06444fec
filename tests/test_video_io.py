import numpy as np
import pytest

from fvc.errors import VideoError
from fvc.video.encode import Encoder
from fvc.video.io import iter_frames, sample_indices, video_fps


@pytest.mark.parametrize(
    "n, expected_len",
    [(0, 0), (3, 3), (20, 5), (100, 10), (1000, 50), (10_000, 50)],
)
def test_sample_indices_fraction_and_bounds(n, expected_len):
    idx = sample_indices(n, fraction=0.1, min_frames=5, max_frames=50)
    assert len(idx) == expected_len
    if n:
        assert idx[0] == 0 and idx[-1] == n - 1
        assert idx == sorted(idx)


def test_iter_frames_yields_only_requested_frames(make_video):
    path = make_video("a.mp4", frames=12, width=64, height=48, fps=12)
    got = list(iter_frames(path, [0, 5, 11]))
    assert [i for i, _ in got] == [0, 5, 11]
    assert got[0][1].shape == (48, 64, 3) and got[0][1].dtype == np.uint8
    assert len(list(iter_frames(path))) == 12
    assert float(video_fps(path)) == pytest.approx(12)


def test_writer_round_trip_is_lossless_with_ffv1(tmp_path):
    rng = np.random.default_rng(0)  # colours and odd rows: channel order and row padding both show
    frames = [rng.integers(0, 256, (16, 18, 3), dtype=np.uint8) for _ in range(2)]
    path = tmp_path / "x.mkv"
    with Encoder(path, fps=5, width=18, height=16, codec="ffv1", pix_fmt="bgr0") as w:
        for f in frames:
            w.write(f)
    decoded = [f for _, f in iter_frames(path)]
    assert len(decoded) == 2
    np.testing.assert_array_equal(decoded[0], frames[0])
    np.testing.assert_array_equal(decoded[1], frames[1])


def test_missing_and_unknown_encoder(tmp_path):
    with pytest.raises(VideoError, match="file not found"):
        list(iter_frames(tmp_path / "none.mp4"))
    with pytest.raises(VideoError, match="cannot create encoder 'nope'"):
        Encoder(tmp_path / "y.mp4", fps=5, width=16, height=16, codec="nope")


def test_gray_from_luma_plane_matches_swscale(make_video):
    import av

    from fvc.video.io import frame_to_gray

    path = make_video("g.mp4", frames=3, width=70, height=50)  # odd line size vs width
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        fast = frame_to_gray(frame)
        ref = frame.to_ndarray(format="gray")
    assert fast.shape == ref.shape == (50, 70)
    assert np.abs(fast.astype(int) - ref.astype(int)).max() <= 1
