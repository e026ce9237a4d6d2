"""The benchmark scripts keep working (their timings are reported, never asserted)."""
import json

from tests.helpers import run_script


def test_train_speed_runs_on_cpu_and_writes_its_table(tiny_data, tmp_path):
    result = run_script("benchmarks/train_speed.py", "--data-dir", str(tiny_data), "--device", "cpu",
                        "--seed-epochs", "1", "--eager-epochs", "1", "--results-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "seed loop" in result.stdout and "ours, eager" in result.stdout
    report = json.loads((tmp_path / "train_speed_cpu.json").read_text())
    assert report["device"]["device"] == "cpu" and report["images"] == 400
    assert [row["path"] for row in report["rows"]] == ["seed loop", "ours, eager"]
    assert all(row["median_epoch_seconds"] > 0 and row["steps_per_second"] > 0 for row in report["rows"])
