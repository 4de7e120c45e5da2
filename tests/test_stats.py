from pathlib import Path

import torch
import yaml

from ssl_mir.cli import main
from ssl_mir.encoders import CRNN
from ssl_mir.frontends import CQT
from ssl_mir.stats import frontend_stats

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_frontend_stats_equal_the_statistics_of_the_raw_front_end_output() -> None:
    torch.manual_seed(0)
    encoder = CRNN(frontend=CQT(n_octaves=6, mean=-3.0, std=2.0), channels=[4], gru_dim=4)
    batches = [torch.randn(2, 8000) for _ in range(3)]
    mean, std = frontend_stats(encoder, batches)
    raw = torch.cat([CQT(n_octaves=6)(b).flatten() for b in batches]).double()
    assert abs(mean - float(raw.mean())) < 1e-6 and abs(std - float(raw.std(unbiased=False))) < 1e-6
    assert float(encoder.frontend.mean) == -3.0 and float(encoder.frontend.std) == 2.0  # restored


def test_stats_command_writes_a_yaml_that_composes_into_the_encoder_buffers(corpus: Path, tmp_path: Path,
                                                                             capsys) -> None:
    common = ["-c", str(CONFIGS / "data" / "synthetic.yaml"), "-c", str(CONFIGS / "pretrain" / "cola_crnn.yaml"),
              "-c", str(CONFIGS / "frontend" / "chroma.yaml"), "--data.manifest", str(corpus),
              "--data.batch_size", "4", "--data.num_workers", "0"]
    main(["stats", *common, "--max_batches", "2", "--out", str(tmp_path / "stats.yaml")])
    values = yaml.safe_load((tmp_path / "stats.yaml").read_text())
    frontend = values["model"]["init_args"]["encoder"]["init_args"]["frontend"]["init_args"]
    assert frontend["std"] > 0 and frontend["mean"] != 0.0
    capsys.readouterr()
    try:
        main(["pretrain", "-c", str(CONFIGS / "trainer" / "cpu.yaml"), *common, "-c", str(tmp_path / "stats.yaml"),
              "--print_config"])
    except SystemExit:
        pass
    printed = yaml.safe_load(capsys.readouterr().out)
    composed = printed["model"]["init_args"]["encoder"]["init_args"]["frontend"]
    assert composed["class_path"] == "ssl_mir.frontends.Chroma"
    assert composed["init_args"]["mean"] == frontend["mean"] and composed["init_args"]["std"] == frontend["std"]
