import pytest

from fvc.config import FvcConfig, load_config, save_config, stable_hash
from fvc.errors import InputError
from fvc.workspace import Workspace


def test_yaml_round_trip_and_hash_stability(tmp_path):
    ws = Workspace(tmp_path).ensure()
    cfg = FvcConfig()
    cfg.augment.per_video = 3
    save_config(ws, cfg)
    again = load_config(ws)
    assert again == cfg
    assert again.section_hash("augment") == cfg.section_hash("augment")


def test_section_hash_depends_only_on_its_sections():
    a, b = FvcConfig(), FvcConfig()
    b.scale.size = 128
    assert a.section_hash("augment") == b.section_hash("augment")
    assert a.section_hash("scale") != b.section_hash("scale")
    assert a.section_hash() != b.section_hash()


def test_stable_hash_ignores_key_order():
    assert stable_hash({"a": 1, "b": [1, 2]}) == stable_hash({"b": [1, 2], "a": 1})


def test_invalid_config_is_one_line_error(tmp_path):
    path = tmp_path / "fvc.yaml"
    path.write_text("augment:\n  per_video: many\n")
    with pytest.raises(InputError, match=r"invalid config at 'augment.per_video'"):
        FvcConfig.from_yaml(path)
    path.write_text("unknown_section: 1\n")
    with pytest.raises(InputError, match="unknown_section"):
        FvcConfig.from_yaml(path)
