"""What a push publishes, decided without the Hub: the allow list, links, and the mirror's deletions.
(tests/test_hub.py pushes for real to tests/hub_server.py; these pin the choice of files.)"""

from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete

from gan_core.hub.push import push_operations, run_files_to_push
from gan_core.runs.layout import PUSH_PATTERNS, RUN_FILES

SAMPLES = ["samples/epoch_0001.png", "samples/epoch_0002.png"]


def make_run(root: Path) -> Path:
    """Every file a run directory can hold, plus what a user or a crash could leave in it."""
    run_dir = root / "run"
    (run_dir / "samples").mkdir(parents=True)
    for name in [*RUN_FILES, *SAMPLES, "notes.txt", "samples/notes.txt", ".model.safetensors.x1.tmp"]:
        (run_dir / name).write_bytes(name.encode())
    (run_dir / "nested" / "samples").mkdir(parents=True)
    (run_dir / "nested" / "samples" / "epoch_0003.png").write_bytes(b"png")
    return run_dir


def test_only_the_allow_list_is_pushed(tmp_path):
    warnings = []
    chosen = run_files_to_push(make_run(tmp_path), warnings.append)
    assert chosen == sorted(
        ["README.md", "config.json", "history.json", "model.safetensors", "real_images.png", "scores.png"]
        + SAMPLES
    )
    # The discriminator, the training state, the raw generator and stray files stay local.
    assert not {"discriminator.safetensors", "training_state.pt", "generator_raw.safetensors"} & set(chosen)
    assert warnings == []


def test_a_link_is_not_pushed_and_says_so(tmp_path):
    run_dir = make_run(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("token")
    (run_dir / "scores.png").unlink()
    (run_dir / "scores.png").symlink_to(secret)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "epoch_0009.png").write_text("not ours")
    (run_dir / "samples" / "epoch_0009.png").symlink_to(elsewhere / "epoch_0009.png")
    warnings = []
    chosen = run_files_to_push(run_dir, warnings.append)
    assert "scores.png" not in chosen and "samples/epoch_0009.png" not in chosen
    assert sorted(warnings) == sorted(
        [
            f"warning: {run_dir / 'samples/epoch_0009.png'} is a link; it is not pushed",
            f"warning: {run_dir / 'scores.png'} is a link; it is not pushed",
        ]
    )


def test_a_linked_samples_folder_is_not_pushed(tmp_path):
    run_dir = make_run(tmp_path)
    outside = tmp_path / "outside"
    (run_dir / "samples").rename(outside)
    (run_dir / "samples").symlink_to(outside)
    warnings = []
    chosen = run_files_to_push(run_dir, warnings.append)
    assert not [name for name in chosen if name.startswith("samples/")]
    assert warnings == [f"warning: {run_dir / 'samples'} is a link; it is not pushed"]


def test_the_commit_mirrors_the_run_and_keeps_the_users_own_files(tmp_path):
    run_dir = make_run(tmp_path)
    published = ["README.md", "model.safetensors", "samples/epoch_0300.png", "samples/epoch_0001.png",
                 "scores.png", "my-notes.md", "samples/extra.txt", "samples/my-favourite.png",
                 ".gitattributes"]  # fmt: skip
    operations = push_operations(run_dir, "# card", published, lambda _: None)
    added = {op.path_in_repo: op for op in operations if isinstance(op, CommitOperationAdd)}
    deleted = [op.path_in_repo for op in operations if isinstance(op, CommitOperationDelete)]
    assert sorted(added) == run_files_to_push(run_dir, lambda _: None)
    assert added["README.md"].path_or_fileobj == b"# card"  # the card from memory, not the run's file
    assert added["config.json"].path_or_fileobj == str(run_dir / "config.json")
    # An earlier push's grid that this run lacks goes; the user's own files stay.
    assert deleted == ["samples/epoch_0300.png"]


def test_a_first_push_deletes_nothing(tmp_path):
    operations = push_operations(make_run(tmp_path), "# card", [], lambda _: None)
    assert not [op for op in operations if isinstance(op, CommitOperationDelete)]
    assert len(operations) == len(PUSH_PATTERNS) - 1 + len(SAMPLES)


def test_the_sample_grids_of_a_run_are_found_by_their_names(tmp_path):
    from gan_core.runs.layout import nearest_sample_epoch, sample_epochs

    (tmp_path / "samples").mkdir()
    for name in ("epoch_0010.png", "epoch_0003.png", "epoch_12.png", "notes.txt", "epoch_0004.jpg"):
        (tmp_path / "samples" / name).write_bytes(b"")
    assert sample_epochs(tmp_path) == [3, 10, 12]
    assert sample_epochs(tmp_path / "no-run") == []
    # The slider's epoch -> the latest saved grid at or before it, or the first one.
    assert nearest_sample_epoch([], 5) is None
    assert [nearest_sample_epoch([5, 10, 15], wanted) for wanted in (1, 5, 9, 10, 14, 15, 300)] == [
        5, 5, 5, 10, 10, 15, 15,
    ]  # fmt: skip
