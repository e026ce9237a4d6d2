import json
import re

from huggingface_hub import ModelCard

from gan_core.messages import markdown_text
from gan_core.runs.card import model_card
from gan_core.runs.history import read_history
from gan_core.runs.report import recorded_device
from tests.helpers import ROOT


def test_the_card_has_hub_front_matter_usage_config_scores_and_limits():
    history = json.loads((ROOT / "weights" / "history.json").read_text())
    card = model_card(history, ROOT / "weights", "someone/mnist-gan")
    parsed = ModelCard(card)
    metadata, body = parsed.data, parsed.text
    assert metadata.license == "mit" and metadata.library_name == "pytorch"
    assert metadata.pipeline_tag == "unconditional-image-generation"
    assert set(metadata.tags) == {"gan", "mnist", "pytorch"} and metadata.datasets == ["ylecun/mnist"]
    quality = history["epochs"][-1]["quality"]
    figures = {result.metric_type: result.metric_value for result in metadata.eval_results}
    assert figures == {"mnist-fd": quality["mnist_fd"], "inception-score": quality["inception_score"]}
    assert {result.dataset_type for result in metadata.eval_results} == {"ylecun/mnist"}
    assert 'repo = "someone/mnist-gan"' in body and 'Generator.from_pretrained("someone/mnist-gan")' in body
    assert "Recipe: `improved`" in body and "R1 penalty of weight 10.0" in body
    assert "| batch size | 100 |" in body and "| epochs | 300 |" in body
    last = history["epochs"][-1]
    assert (
        f"| {last['d_x']:.3f} | {last['d_g_z']:.3f} | {last['d_loss']:.3f} | {last['g_loss']:.3f} |" in body
    )
    assert (
        recorded_device(history["meta"]) in body
        and "![D(x), D(G(z)) and the losses per epoch](scores.png)" in body
    )
    assert "(samples/epoch_0300.png)" in body and "## Limitations" in body


def test_an_unpushed_card_has_a_placeholder_repo(tmp_path):
    card = model_card({"config": {}, "meta": {}, "epochs": []}, tmp_path)
    assert 'from_pretrained("USER/NAME")' in card and "No epochs recorded." in card


def test_the_card_states_the_runs_own_sizes_and_images(tmp_path):
    history = {
        "config": {"latent_size": 16, "hidden_size": 48, "subset": 2000, "recipe": "tutorial"},
        "meta": {"training_images": 2000},
        "epochs": [],
    }
    card = model_card(history, tmp_path)
    assert "Linear(16, 48)-ReLU-Linear(48, 48)-ReLU-Linear(48, 784)" in card
    assert (
        "the first 2,000 of the 60,000 MNIST training images" in card
        and "| training images | 2,000 |" in card
    )
    assert ModelCard(card).data.eval_results is None  # no quality figures were recorded


def test_a_hand_edited_history_cannot_put_markdown_in_the_card(tmp_path):
    history = read_history(ROOT / "weights" / "history.json")
    link = "[a link](https://evil.example/x) <img src=x>"
    history["meta"].update(device_name=link, torch=link, path=link)
    history["config"].update(recipe="`x` " + link, data_dir=link)
    body = model_card(history, ROOT / "weights", "someone/mnist-gan")
    # No mark that could start a link or a tag is left unescaped, and the text is shown as typed.
    assert not re.search(r"(?<!\\)\]\(https?://evil|(?<!\\)<img", body)
    assert body.count(markdown_text(link)) == 4  # device, torch, path, and the recipe's row
