"""The benchmark scripts keep working (their timings are reported, never asserted)."""

import json

from tests.helpers import run_script


def test_train_speed_runs_on_cpu_and_writes_its_table(tiny_data, tmp_path):
    result = run_script(
        "benchmarks/train_speed.py",
        "--data-dir",
        str(tiny_data),
        "--device",
        "cpu",
        "--tutorial-epochs",
        "1",
        "--eager-epochs",
        "1",
        "--results-dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "tutorial's loop" in result.stdout and "ours, eager" in result.stdout
    report = json.loads((tmp_path / "train_speed_cpu.json").read_text())
    assert report["device"]["device"] == "cpu" and report["images"] == 400
    assert [row["path"] for row in report["rows"]] == [
        "tutorial's loop",
        "ours, eager",
        "improved, eager",
        "autograd, eager",
        "improved autograd",
    ]
    assert all(row["median_epoch_seconds"] > 0 and row["steps_per_second"] > 0 for row in report["rows"])


def test_a_crowd_larger_than_the_queue_is_answered_or_told_busy_and_nothing_is_lost(tmp_path):
    # The short version of benchmarks/app_load.py: 12 clients against a queue of 2 for 5 s.
    report_path = tmp_path / "load.json"
    result = run_script(
        "benchmarks/app_load.py",
        "--clients",
        "12",
        "--seconds",
        "5",
        "--queue-size",
        "2",
        "--json",
        str(report_path),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text())
    assert report["sent"] == report["answered"] + report["busy"] and report["answered"] > 0
    assert report["failed"] == report["lost"] == report["mismatched"] == 0, report["failures"]
    assert report["busy"] > 0 and report["busy_messages"] == ["Queue is full! Please try again."]
    assert report["still_serving"] and report["rss_mib"]["peak"] >= report["rss_mib"]["start"] > 0


def test_the_abuse_benchmark_runs_and_the_app_keeps_serving(tmp_path):
    result = run_script(
        "benchmarks/app_abuse.py", "--seconds", "3", "--distinct", "20", "--settle", "1",
        "--results-dir", str(tmp_path), timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "app_abuse.json").read_text())
    assert report["still_serving"] and report["outcomes"].get("upload: 403", 0) > 0
    assert not any(key.endswith(": 200") for key in report["outcomes"])  # nothing abusive was accepted


def test_the_checkpoint_cost_benchmark_runs_and_writes_its_table(tmp_path):
    result = run_script(
        "benchmarks/checkpoint_cost.py",
        "--rows",
        "10",
        "2000",
        "--epochs",
        "3",
        "--results-dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "checkpoint_cost.json").read_text())
    assert [row["history_rows"] for row in report["results"]] == [10, 2000]
    assert all(row["checkpoint_ms_median"] > 0 for row in report["results"])
