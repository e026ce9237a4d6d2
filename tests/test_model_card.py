import json

import yaml

from gan_core.model_card import model_card
from tests.helpers import ROOT


def test_the_card_has_hub_front_matter_usage_config_scores_and_limits():
    history = json.loads((ROOT / "weights" / "history.json").read_text())
    card = model_card(history, ROOT / "weights", "someone/mnist-gan")
    front, body = card.split("---\n")[1], card.split("---\n", 2)[2]
    metadata = yaml.safe_load(front)
    assert metadata["license"] == "mit" and metadata["library_name"] == "pytorch"
    assert metadata["pipeline_tag"] == "unconditional-image-generation"
    assert set(metadata["tags"]) == {"gan", "mnist", "pytorch"} and metadata["datasets"] == ["mnist"]
    assert 'Generator.from_pretrained("someone/mnist-gan")' in body
    assert "| batch size | 100 |" in body and "| epochs | 300 |" in body
    last = history["epochs"][-1]
    assert (
        f"| {last['d_x']:.3f} | {last['d_g_z']:.3f} | {last['d_loss']:.3f} | {last['g_loss']:.3f} |" in body
    )
    assert (
        history["meta"]["device_name"] in body
        and "![D(x), D(G(z)) and the losses per epoch](scores.png)" in body
    )
    assert "(samples/epoch_0300.png)" in body and "## Limitations" in body


def test_an_unpushed_card_has_a_placeholder_repo(tmp_path):
    card = model_card({"config": {}, "meta": {}, "epochs": []}, tmp_path)
    assert 'from_pretrained("USER/NAME")' in card and "No epochs recorded." in card
