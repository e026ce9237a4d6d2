"""Shareable links: the page opens on the view a URL's query names, with its numbers.

    /?view=generate&seed=42&count=16        /?view=interpolate&seed_a=1&seed_b=2&t=0.25
    /?view=nearest&seed=42&index=3&model=tutorial   /?view=answer&seed=7   /?view=game&round=12
    /?view=latent-map&seed_a=42&seed_b=43&seed_c=44&seed_d=45  /?view=scores  /?view=live
    /?view=interpolate&seed_a=42&index_a=3&seed_b=42&index_b=4 (from digit 3 of seed 42's grid to digit 4)

So someone can send "seed 42, digit 3" as a link. Once the numbers are set, the view draws them
(each tab's "redraw"), so the picture is the link's. A number that is out of range or not a number
is named in a warning and left at the page's default; the rest of the link still applies.
"""

from __future__ import annotations

import html

import gradio as gr

from gan_core.demo.sampler import MAX_COUNT, check_fraction, check_seed, whole_number
from gan_core.messages import shown
from ui.sections import VIEWS

# What a link may set, and how each is read and checked (the endpoints' own checks).
NUMBERS = {
    "seed": lambda text: check_seed(_number(text)),
    "count": lambda text: whole_number(_number(text), "count", 1, MAX_COUNT),
    "index": lambda text: whole_number(_number(text), "index", 0, MAX_COUNT - 1),
    "seed_a": lambda text: check_seed(_number(text), "seed_a"),
    "seed_b": lambda text: check_seed(_number(text), "seed_b"),
    "seed_c": lambda text: check_seed(_number(text), "seed_c"),
    "seed_d": lambda text: check_seed(_number(text), "seed_d"),
    "index_a": lambda text: whole_number(_number(text), "index_a", 0, MAX_COUNT - 1),
    "index_b": lambda text: whole_number(_number(text), "index_b", 0, MAX_COUNT - 1),
    "index_c": lambda text: whole_number(_number(text), "index_c", 0, MAX_COUNT - 1),
    "index_d": lambda text: whole_number(_number(text), "index_d", 0, MAX_COUNT - 1),
    "t": lambda text: check_fraction(_number(text)),
    "round": lambda text: check_seed(_number(text), "round"),
    "model": lambda text: _model(text),
}
MODELS = ("improved", "tutorial")  # the served run, and the tutorial's bundled one


def model_query(model: str) -> str:
    """'&model=tutorial' for the tutorial's digits; nothing for the served run, a link's default."""
    return "" if model == "improved" else f"&model={model}"


def corners_query(*corners: tuple[int, int]) -> str:
    """Seeds' digits as a link's query, named a, b, ... in order: 'seed_a=1&seed_b=2' for two seeds'
    first digits, with index_X where a corner is another digit of its seed ('seed_a=42&index_a=3')."""
    return "&".join(
        f"seed_{name}={int(seed)}" + (f"&index_{name}={int(index)}" if index else "")
        for name, (seed, index) in zip("abcd", corners, strict=False)
    )


def warn(message: str) -> None:
    """A warning that quotes a link's values as text: Gradio's toasts render HTML, and a link is
    anyone's to write (a value like <img src=...> would fetch from their server)."""
    gr.Warning(html.escape(message))


def _model(text: str) -> str:
    if text not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {shown(text)}")
    return text


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return text  # the check names it as given


def follow(demo: gr.Blocks, sections: gr.Tabs, inner: dict[str, gr.Tabs], controls: dict[str, dict]) -> None:
    """On each page load, open the view the URL names. `inner`: the tab groups inside the top-level
    tabs, by the top-level tab's id; `controls`: per view, the components a link may set, by name,
    and under "redraw" the (fn, inputs, outputs) to run once they are set. The tabs redraw on what
    the visitor changes (.input), not on values set for them, which would draw half-set values."""
    targets = [
        (view, name, item)
        for view, named in controls.items()
        for name, item in named.items()
        if name != "redraw"
    ]
    groups = list(inner.items())
    linked = gr.State(None)  # the view the link named, for the redraws below

    def open_view(request: gr.Request):
        query = dict(request.query_params) if request is not None else {}
        view = query.get("view")
        if view is None:
            return [None] + [gr.skip()] * (1 + len(groups) + len(targets))
        if view not in VIEWS:
            known = ", ".join(VIEWS)
            warn(f"This link's view {view[:40]!r} is not one of {known}; the page opens as usual.")
            return [None] + [gr.skip()] * (1 + len(groups) + len(targets))
        outer, tab = VIEWS[view]
        updates = [view, gr.Tabs(selected=outer)]
        updates += [gr.Tabs(selected=tab) if key == outer and tab else gr.skip() for key, _ in groups]
        for target_view, name, _ in targets:
            if target_view != view or name not in query:
                updates.append(gr.skip())
                continue
            try:
                updates.append(NUMBERS[name](query[name]))
            except ValueError as error:
                warn(f"This link's {error}; the page's default is used instead.")
                updates.append(gr.skip())
        return updates

    outputs = [linked, sections, *(tabs for _, tabs in groups), *(component for _, _, component in targets)]
    opened = demo.load(open_view, None, outputs, api_visibility="private", show_progress="hidden")
    for view, named in controls.items():
        for fn, inputs, drawn in named.get("redraw", ()):
            count = len(drawn) if isinstance(drawn, list) else 1
            opened.then(_only_for(view, fn, count), [linked, *inputs], drawn, api_visibility="private",
                        preprocess=False, show_progress="hidden")  # fmt: skip


def _only_for(view: str, fn, outputs: int):
    """fn, run only where the link named `view`: a page opened without one keeps what it has."""

    def redraw(linked_view, *values):
        if linked_view != view:
            return gr.skip() if outputs == 1 else (gr.skip(),) * outputs
        return fn(*values)

    return redraw
