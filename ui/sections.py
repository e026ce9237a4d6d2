"""The page's tabs: five top-level sections (so a phone shows them all) and the tabs inside them,
each with the id a shareable link names it by. ui/app.py lays the page out from this table, and
ui/links.py opens the view a link names from it; the tests and the screenshots read it too."""

from __future__ import annotations

ANSWER, EXPLORE, GAME, TRAINING, HOW = "The answer", "Explore", "Be D", "Training", "How it works"
# Each section's (label, id), then the (label, id) of each tab inside it.
LAYOUT: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    (ANSWER, "answer"): (),
    (EXPLORE, "explore"): (
        ("Generate", "generate"),
        ("Interpolate", "interpolate"),
        ("Latent map", "latent-map"),
        ("Nearest images", "nearest"),
    ),
    (GAME, "game"): (),
    (TRAINING, "training"): (("Training scores", "scores"), ("Live training", "live")),
    (HOW, "how-it-works"): (),
}
# Each section's label -> the labels of the tabs inside it.
SECTIONS = {label: tuple(inner for inner, _ in tabs) for (label, _), tabs in LAYOUT.items()}
# Every tab's id, by its label.
IDS = {label: key for section, tabs in LAYOUT.items() for label, key in (section, *tabs)}
# view (a tab's id) -> (its section's id, the id of the tab inside it, or None for a section).
VIEWS = {
    **{key: (key, None) for (_, key), tabs in LAYOUT.items() if not tabs},
    **{tab: (key, tab) for (_, key), tabs in LAYOUT.items() for _, tab in tabs},
}
