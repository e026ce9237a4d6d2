"""The "How it works" tab: answers to the questions readers of the tutorial ask, drawn from this
package's own code and from the two bundled runs, so that neither the code nor the numbers can
drift from what the text says."""

from __future__ import annotations

import inspect
import re
import textwrap

from gan_core.runs.history import History, final_quality, final_scores, is_finite
from gan_core.training.engines.reference import generator_loss, train_step

# The banners that open the two updates in train_step: "# (1) update D: ..." and "# (2) update G: ...".
BANNER = re.compile(r"^# \((?P<number>\d)\) (?P<title>update [DG]:.*?)\s*#$")
RULE = re.compile(r"^# =+ #$")


def step_excerpts() -> list[tuple[str, str]]:
    """The two updates of one training step, as (title, code): the lines under each banner of
    gan_core.training.engines.reference.train_step, read from its source when the app starts."""
    lines = textwrap.dedent(inspect.getsource(train_step)).splitlines()
    excerpts, title, block = [], None, []
    for line in lines:
        banner = BANNER.match(line.strip())
        if banner:
            if title:
                excerpts.append((title, _trimmed(block)))
            title, block = f"({banner['number']}) {banner['title']}", []
        elif title and not RULE.match(line.strip()):
            if line.strip().startswith("return "):
                break
            block.append(line)
    if title:
        excerpts.append((title, _trimmed(block)))
    return excerpts


def _trimmed(block: list[str]) -> str:
    while block and not block[-1].strip():
        block.pop()
    while block and not block[0].strip():
        block.pop(0)
    return textwrap.dedent("\n".join(block))


def generator_loss_source() -> str:
    return textwrap.dedent(inspect.getsource(generator_loss)).strip()


def _final(history: History, name: str) -> float:
    return float(history["epochs"][-1][name])


def equilibrium_text(improved: History, tutorial: History) -> str:
    """Why the 0.5 of the tutorial's claim is not reached by its recipe, with both runs' numbers."""
    t_x, t_gz = _final(tutorial, "d_x"), _final(tutorial, "d_g_z")
    i_x, i_gz = _final(improved, "d_x"), _final(improved, "d_g_z")
    measured = final_quality(tutorial)
    ones = measured["quality"]["digit_histogram"][1] if measured else None
    ones_text = f" and {100 * ones:.0f}% of its digits are ones" if ones is not None else ""
    return (
        "**Does D(x) = D(G(z)) = 0.5 happen?** At the equilibrium of the GAN game, G draws exactly "
        "the data's distribution, so D cannot tell real from fake and says 0.5 to both. The tutorial's "
        f"recipe never gets there: after {len(tutorial['epochs'])} epochs its D(x) is {t_x:.2f} and its "
        f"D(G(z)) {t_gz:.2f}{ones_text}. D stays ahead, and G chases the few digits D currently "
        "rates highest, then the next ones, round and round. One change, an R1 penalty on D (the "
        "squared gradient of D's logit at real images, weight γ/2), keeps D smooth on the data, so "
        f"that its verdicts stop jerking G around: the improved recipe ends at D(x) = {i_x:.2f} and "
        f"D(G(z)) = {i_gz:.2f}, and draws every digit about equally often."
    )


WHY_REAL_LABELS = (
    '**Why does G\'s loss use the *real* labels?** G is trained to make D say "real" to its fakes: '
    "BCE against target 1 is −log D(G(z)). The textbook alternative, minimising log(1 − D(G(z))), "
    "saturates: early on D rejects every fake with D(G(z)) ≈ 0, where that curve is flat, so G gets "
    "almost no gradient. −log D(G(z)) is steepest exactly there. Both have the same fixed point; "
    "this one (the *non-saturating* loss of Goodfellow et al., 2014) learns from the start."
)

WHY_DETACH = (
    "**Why detach the fakes in D's update?** D's loss depends on G's weights through the fakes, so "
    "without `detach()` backward would also compute gradients for G, which D's step never uses. "
    "Detaching skips that work; it does not change D's update, because D's optimiser only reads "
    "D's gradients (and here they are taken for D's parameters alone). G's update then runs its "
    "own forward pass through the *updated* D."
)

LOADING = """```python
import torch
from gan_core.models import Generator                      # from this project
generator = Generator.from_pretrained("you/mnist-gan")     # a Hub repo, or a run folder
digits = generator(torch.randn(16, generator.latent_size)) # 16 images, pixels in [-1, 1]
```
Without this project, the model card of every pushed run has a snippet that needs only torch,
safetensors and huggingface_hub."""


def how_it_works_intro() -> str:
    return (
        "One training step is two updates, D first, then G, on one batch of real images and a "
        "batch of noise. These are the lines that run them in this project's reference step "
        "(`gan_core/training/engines/reference.py`, read when the app starts, so they cannot drift "
        "from the code). `train.py` runs the same algorithm with its backward passes written out by "
        "hand (`gan_core/training/engines/backprop.py`, faster); the tests hold the two to each other "
        "step by step:"
    )


def served_recipe(history: History) -> str | None:
    """The recipe a run recorded, by what matters here: "improved" where its D had an R1 penalty,
    "tutorial" where it had none, None where the run recorded no settings."""
    config = history.get("config") or {}
    if not config:
        return None
    resolved = config.get("resolved") if isinstance(config.get("resolved"), dict) else {}
    gamma = resolved.get("r1_gamma", config.get("r1_gamma"))
    return "improved" if is_finite(gamma) and gamma > 0 else "tutorial"


def served_label(history: History) -> str:
    """How the pages name the served run: by its recorded recipe, never by the API's word for it."""
    return {"improved": "improved (R1)", "tutorial": "served run, tutorial's recipe"}.get(
        served_recipe(history), "served run, recipe not recorded"
    )


def _ends(history: History) -> str | None:
    last = final_scores(history)
    return None if last is None else f"{last['d_x']:.2f} and {last['d_g_z']:.2f}"


def model_facts(name: str, history: History) -> str:
    """One model's final scores and quality figures, for the Compare tab."""
    last = final_scores(history)
    if last is None:
        return f"**{name}**: this run recorded no epoch scores that can be shown."
    epochs = len(history["epochs"])
    text = f"**{name}** ({epochs} epochs): D(x) = {last['d_x']:.2f}, D(G(z)) = {last['d_g_z']:.2f}"
    measured = final_quality(history)
    if measured:
        epoch, quality = measured["epoch"], measured["quality"]
        shares = quality["digit_histogram"]
        text += (
            f"; at epoch {epoch}, MNIST-FD {quality['mnist_fd']:.1f}, Inception Score "
            f"{quality['inception_score']:.2f}, each digit {100 * min(shares):.0f}% to "
            f"{100 * max(shares):.0f}% of the samples (ones {100 * shares[1]:.0f}%)"
        )
    return text


QUESTION = "Does the tutorial's GAN reach D(x) = D(G(z)) = 0.5?"
NEAR_HALF = 0.05  # how far from 0.5 a last epoch's D(x) and D(G(z)) may be and still "reach" it


def verdict(served: History, tutorial: History) -> str:
    """The answer to QUESTION in a line or two, from the runs' own last epochs: the tutorial's
    bundled run, and the served run (the R1 one, unless the app serves another)."""
    last = final_scores(tutorial)
    if last is None:
        return "The tutorial's run recorded no scores, so this app cannot say."
    reached = abs(last["d_x"] - 0.5) <= NEAR_HALF and abs(last["d_g_z"] - 0.5) <= NEAR_HALF
    measured = final_quality(tutorial)
    ones = ""
    if measured:
        ones = f", and {100 * measured['quality']['digit_histogram'][1]:.0f}% of its digits are ones"
    text = (
        f"**{'Yes' if reached else 'No, not as the tutorial trains it'}.** After {len(tutorial['epochs'])} "
        f"epochs it ends at D(x) = {last['d_x']:.2f} and D(G(z)) = {last['d_g_z']:.2f}{ones}."
    )
    served_last = final_scores(served)
    if served_last is not None and served_recipe(served) == "improved":
        measured = final_quality(served)
        spread = ""
        if measured:
            shares = measured["quality"]["digit_histogram"]
            spread = f", and each digit is {100 * min(shares):.0f}–{100 * max(shares):.0f}% of its samples"
        text += (
            f" With one change, an R1 penalty on D, the same networks end at D(x) = {served_last['d_x']:.2f} "
            f"and D(G(z)) = {served_last['d_g_z']:.2f}{spread}."
        )
    return text


QUALITY_HINT = (
    "Lower MNIST-FD is closer to real digits; an Inception Score near 10 means sharp digits of every kind."
)


def compare_intro(served: History, tutorial: History) -> str:
    """The Compare tab's first lines, true of whichever run is served: the bundled R1 run, or a
    user's run of either recipe, with or without recorded scores."""
    recipe = served_recipe(served)
    if recipe == "improved":
        text = "The tutorial's recipe, as written, against the same networks with one change: an R1 "
        text += "penalty on D."
    elif recipe == "tutorial":
        text = (
            "The tutorial's bundled run against the served run, which was trained without an R1 penalty too."
        )
    else:
        text = "The tutorial's bundled run against the served run, whose recipe was not recorded."
    text += " The same seed draws the same noise for both."
    tutorial_ends, served_ends = _ends(tutorial), _ends(served)
    if tutorial_ends:
        text += f" The tutorial claims D(x) and D(G(z)) meet at 0.5: its own run ends at {tutorial_ends}"
        text += (
            f", the served one at {served_ends}." if served_ends else "; the served run recorded no scores."
        )
    return f"{text} {QUALITY_HINT}"
