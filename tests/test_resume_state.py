"""training_state.pt and the history it resumes from, in-process: every way a resume file can be
wrong gets its own message, and a good one puts the networks, optimizers and RNG back exactly."""

from __future__ import annotations

import io
import json

import pytest
import torch

from gan_core.config import TrainConfig
from gan_core.runs.checkpoint import (
    STATE_TYPES,
    load_resume_state,
    read_resume_state,
    read_training_state,
    resumed_history,
    saved_epoch,
    write_training_state,
)
from gan_core.runs.layout import HISTORY_FILE, HISTORY_JOURNAL_FILE, STATE_FILE
from gan_core.runs.writer import resume_state
from gan_core.training.state import build_state

CPU = torch.device("cpu")


def config(**changes) -> TrainConfig:
    return TrainConfig(batch_size=4, hidden_size=8, latent_size=4, device="cpu", **changes)


def good_state(epoch: int = 2, **changes) -> dict:
    torch.manual_seed(0)
    run_config = config(**changes)
    state = build_state(run_config, CPU)
    history = {"config": {"batch_size": 4, "hidden_size": 8, "latent_size": 4, "recipe": run_config.recipe},
               "meta": {"device": "cpu"}}  # fmt: skip
    return {**resume_state(state, epoch, CPU), "history": history}


def rows(*epochs) -> list[dict]:
    return [{"epoch": epoch, "d_loss": epoch / 10} for epoch in epochs]


def write_history(run_dir, history_epochs=(), journal_epochs=(), torn_line=False) -> None:
    (run_dir / HISTORY_FILE).write_text(
        json.dumps({"config": {}, "meta": {}, "epochs": rows(*history_epochs)})
    )
    lines = [json.dumps(row) for row in rows(*journal_epochs)]
    if torn_line:
        lines.append('{"epoch": 9, "d_lo')  # a crash in the middle of a line
    (run_dir / HISTORY_JOURNAL_FILE).write_text("".join(line + "\n" for line in lines))


def test_a_missing_state_says_to_train_first(tmp_path):
    with pytest.raises(
        ValueError, match=r"nothing to resume: .*training_state.pt does not exist \(train without"
    ):
        read_training_state(tmp_path)
    assert saved_epoch(tmp_path) == 0


def test_a_file_torch_cannot_read_is_damaged(tmp_path):
    (tmp_path / STATE_FILE).write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=r"training_state.pt is damaged and cannot be resumed from \("):
        read_training_state(tmp_path)
    assert saved_epoch(tmp_path) == 0


def save_raw(tmp_path, value) -> None:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    (tmp_path / STATE_FILE).write_bytes(buffer.getvalue())


def test_a_state_that_is_not_a_dict_names_what_it_holds(tmp_path):
    save_raw(tmp_path, [1, 2])
    with pytest.raises(
        ValueError, match=r"cannot be resumed from: it holds a list, not the training state \(dam"
    ):
        read_training_state(tmp_path)


@pytest.mark.parametrize("key", list(STATE_TYPES))
@pytest.mark.parametrize("damage", ["missing", "wrong type"])
def test_each_part_of_the_state_is_checked(tmp_path, key, damage):
    state = good_state()
    if damage == "missing":
        del state[key]
    else:
        state[key] = "text"
    save_raw(tmp_path, state)
    kind = STATE_TYPES[key].__name__
    with pytest.raises(ValueError, match=rf"cannot be resumed from: '{key}' is missing or not a {kind} \("):
        read_training_state(tmp_path)


def test_an_epoch_of_true_is_not_an_epoch(tmp_path):
    save_raw(tmp_path, {**good_state(), "epoch": True})  # bool is an int to isinstance
    with pytest.raises(ValueError, match="'epoch' is missing or not a int"):
        read_training_state(tmp_path)


@pytest.mark.parametrize(
    "history", [{"meta": {}}, {"config": {}}, {"config": [], "meta": {}}, {"config": {}, "meta": 1}]
)
def test_a_history_without_config_or_meta_is_refused(tmp_path, history):
    save_raw(tmp_path, {**good_state(), "history": history})
    with pytest.raises(ValueError, match="its history has no config or meta"):
        read_training_state(tmp_path)


@pytest.mark.parametrize("epochs", [rows(1), rows(1, 2, 3), "rows"])
def test_an_old_style_history_must_hold_exactly_the_saved_epochs(tmp_path, epochs):
    state = good_state(epoch=2)
    save_raw(tmp_path, {**state, "history": {**state["history"], "epochs": epochs}})
    with pytest.raises(ValueError, match="its history does not hold epochs 1 to 2"):
        read_training_state(tmp_path)


def test_a_good_state_reads_back_and_gives_its_epoch(tmp_path):
    state = good_state(epoch=2)
    save_raw(tmp_path, {**state, "history": {**state["history"], "epochs": rows(1, 2)}})
    assert read_training_state(tmp_path)["epoch"] == 2 and saved_epoch(tmp_path) == 2


def test_the_history_joins_history_json_and_the_journal_up_to_the_saved_epoch(tmp_path):
    write_history(tmp_path, history_epochs=(1, 2), journal_epochs=(2, 3, 4, 5), torn_line=True)
    saved = {"config": {"lr": 1}, "meta": {"device": "cpu"}}
    joined = resumed_history(tmp_path, {"history": saved, "epoch": 4})
    assert joined == {"config": {"lr": 1}, "meta": {"device": "cpu"}, "epochs": rows(1, 2, 3, 4)}


def test_a_journal_alone_or_history_alone_is_enough(tmp_path):
    saved = {"config": {}, "meta": {}}
    write_history(tmp_path, history_epochs=(1, 2, 3))
    assert resumed_history(tmp_path, {"history": saved, "epoch": 3})["epochs"] == rows(1, 2, 3)
    (tmp_path / HISTORY_FILE).unlink()
    (tmp_path / HISTORY_JOURNAL_FILE).write_text("".join(json.dumps(row) + "\n" for row in rows(1, 2)))
    assert resumed_history(tmp_path, {"history": saved, "epoch": 2})["epochs"] == rows(1, 2)
    assert resumed_history(tmp_path, {"history": saved, "epoch": 0})["epochs"] == []


def test_rows_that_are_not_rows_are_ignored_and_a_gap_is_refused(tmp_path):
    write_history(tmp_path, history_epochs=(1,))
    with open(tmp_path / HISTORY_JOURNAL_FILE, "a") as journal:
        journal.write('[1, 2]\n{"epoch": "2"}\n{"epoch": 3}\n')
    saved = {"config": {}, "meta": {}}
    with pytest.raises(
        ValueError, match=r"does not hold epochs 1 to 3 that .*training_state.pt has finished"
    ):
        resumed_history(tmp_path, {"history": saved, "epoch": 3})
    assert resumed_history(tmp_path, {"history": saved, "epoch": 1})["epochs"] == rows(1)


def test_a_state_that_still_holds_its_rows_is_its_own_history(tmp_path):
    saved = {"config": {}, "meta": {}, "epochs": rows(1, 2)}
    assert resumed_history(tmp_path, {"history": saved, "epoch": 2}) is saved


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", "\udcff".encode("utf-8", "surrogatepass")])
def test_a_damaged_history_json_is_named(tmp_path, content):
    path = tmp_path / HISTORY_FILE
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValueError, match=r"history.json is damaged, so the run cannot be resumed \("):
        resumed_history(tmp_path, {"history": {"config": {}, "meta": {}}, "epoch": 1})


def test_a_history_json_whose_epochs_are_not_a_list_has_no_rows(tmp_path):
    (tmp_path / HISTORY_FILE).write_text(json.dumps({"epochs": {"1": {}}}))
    with pytest.raises(ValueError, match="does not hold epochs 1 to 1"):
        resumed_history(tmp_path, {"history": {"config": {}, "meta": {}}, "epoch": 1})


def test_resuming_with_other_flags_names_each_difference(tmp_path):
    write_training_state(tmp_path, good_state(epoch=0))
    state = read_resume_state(tmp_path, config())
    assert state["history"]["epochs"] == [] and state["epoch"] == 0
    with pytest.raises(ValueError, match=rf"cannot resume {tmp_path}: --batch-size is 8 but the run used 4"):
        read_resume_state(tmp_path, TrainConfig(batch_size=8, hidden_size=8, latent_size=4))


def test_loading_a_state_puts_everything_back_exactly(tmp_path):
    torch.manual_seed(1)
    trained = build_state(config(ema_decay=0.9), CPU)
    for parameter in [*trained.generator.parameters(), *trained.discriminator.parameters()]:
        parameter.grad = torch.randn_like(parameter)
    trained.g_optimizer.step()
    trained.d_optimizer.step()
    trained.ema.load_state_dict({name: value + 1 for name, value in trained.ema.state_dict().items()})
    saved = resume_state(trained, 3, CPU)
    expected_noise = torch.randn(5)  # what the RNG gives next, after the save

    torch.manual_seed(2)
    fresh = build_state(config(ema_decay=0.9), CPU)
    load_resume_state(fresh, saved, CPU, tmp_path / STATE_FILE)
    for name in ("generator", "discriminator", "ema"):
        for key, value in getattr(trained, name).state_dict().items():
            assert torch.equal(getattr(fresh, name).state_dict()[key], value), (name, key)
    for name in ("g_optimizer", "d_optimizer"):
        before, after = (
            getattr(trained, name).state_dict()["state"],
            getattr(fresh, name).state_dict()["state"],
        )
        assert before.keys() == after.keys()
        for index in before:
            assert all(torch.equal(before[index][k], after[index][k]) for k in before[index])
    assert torch.equal(torch.randn(5), expected_noise)


def test_a_state_of_other_sizes_does_not_fit(tmp_path):
    saved = resume_state(build_state(config(), CPU), 1, CPU)
    other = build_state(TrainConfig(batch_size=4, hidden_size=16, latent_size=4, device="cpu"), CPU)
    with pytest.raises(
        ValueError, match=r"training_state.pt does not fit this run and cannot be resumed from \("
    ):
        load_resume_state(other, saved, CPU, tmp_path / STATE_FILE)
    broken = {**saved, "d_optimizer": {"state": {}, "param_groups": []}}
    with pytest.raises(ValueError, match="does not fit this run"):
        load_resume_state(build_state(config(), CPU), broken, CPU, tmp_path / STATE_FILE)


class NotATensor:
    """Anything a pickle can carry besides tensors and plain containers: code could run on load."""


def test_a_state_carrying_python_objects_is_refused_unread(tmp_path):
    save_raw(tmp_path, {**good_state(), "extra": NotATensor()})
    with pytest.raises(
        ValueError,
        match=r"training_state.pt is damaged and cannot be resumed from \(.*Weights only load failed",
    ):
        read_training_state(tmp_path)


def test_the_resume_snapshot_is_a_copy_that_training_goes_on_without(tmp_path):
    # The epoch writer saves it on a thread while the next epoch trains: a snapshot that shared
    # its tensors with the networks would save weights of a later step than its epoch's.
    torch.manual_seed(0)
    state = build_state(config(), CPU)
    snapshot = resume_state(state, 1, CPU)
    saved = {name: tensor.clone() for name, tensor in snapshot["generator"].items()}
    with torch.no_grad():
        for parameter in [*state.generator.parameters(), *state.discriminator.parameters()]:
            parameter.add_(1.0)
    assert all(torch.equal(snapshot["generator"][name], tensor) for name, tensor in saved.items())
    assert not torch.equal(
        snapshot["generator"][next(iter(saved))], state.generator.state_dict()[next(iter(saved))]
    )
