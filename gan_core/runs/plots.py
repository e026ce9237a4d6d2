"""The training-score figure: the tutorial's D(x) / D(G(z)) plot with the 0.5 line, losses beside."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # headless: training machines and Spaces have no display
# Bare Figures, not pyplot's: nothing keeps one once it is drawn (pyplot registers each figure
# until it is closed), and no process has to import pyplot.
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from gan_core.runs.history import History, column, quality_rows  # noqa: E402

# A phone draws a plot about 358 CSS px wide. A narrow figure is 480 px wide (at 100 dpi), its panels
# stacked and its legends under the axes, so that its 10-pt text is still 10 px on the phone.
NARROW_WIDTH_IN = 4.8
NARROW_LEGEND = {"loc": "outside lower center", "ncols": 2, "fontsize": 9}


def narrow(make):
    """make's narrow figure, under a name of its own (the figure cache keys on it)."""

    def narrow_figure(*inputs):
        return make(*inputs, narrow=True)

    narrow_figure.__name__ = f"{make.__name__}_narrow"
    return narrow_figure


def scores_figure(history: History, by: str = "epoch", narrow: bool = False) -> Figure:
    """D(x) and D(G(z)) against the 0.5 line, the losses beside (narrow: below), per epoch (or per
    `by`, as live training's rows are per step). A bare Figure, not pyplot's: nothing keeps it once
    it is shown."""
    epochs = column(history, by)
    figure = Figure(figsize=(NARROW_WIDTH_IN, 7) if narrow else (12, 4.5), layout="constrained")
    scores_axis, loss_axis = figure.subplots(2, 1) if narrow else figure.subplots(1, 2)
    scores_axis.plot(epochs, column(history, "d_x"), color="tab:green", label="D(x)")
    scores_axis.plot(epochs, column(history, "d_g_z"), color="tab:blue", label="D(G(z))")
    scores_axis.axhline(0.5, color="gray", linestyle="--", linewidth=1, label="0.5 (the tutorial's claim)")
    scores_axis.set(xlabel=by, ylabel="mean score", ylim=(0, 1), title="Discriminator scores")
    # Under the axes, not in them: the 0.5 line crosses the whole plot, and "best" put the legend on it.
    scores_axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16 if narrow else -0.14),
                       ncols=2 if narrow else 3, fontsize=9 if narrow else None)  # fmt: skip
    loss_axis.plot(epochs, column(history, "d_loss"), color="tab:red", label="D loss")
    loss_axis.plot(epochs, column(history, "g_loss"), color="tab:purple", label="G loss")
    loss_axis.set(xlabel=by, ylabel="mean BCE loss", title="Losses")
    loss_axis.legend(loc="best", fontsize=9 if narrow else None)
    for axis in (scores_axis, loss_axis):
        axis.grid(alpha=0.3)
    return figure


def scores_png(history: History) -> bytes:
    figure = scores_figure(history)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def quality_figure(history: History, narrow: bool = False) -> Figure | None:
    """MNIST-FD and Inception Score over the evaluated epochs, and the last digit histogram."""
    rows = quality_rows(history)
    if not rows:
        return None
    epochs = [row["epoch"] for row in rows]
    figure = Figure(figsize=(NARROW_WIDTH_IN, 10) if narrow else (15, 4.2), layout="constrained")
    fd_axis, is_axis, histogram_axis = figure.subplots(3, 1) if narrow else figure.subplots(1, 3)
    for axis, figure_name, color in (
        (fd_axis, "mnist_fd", "tab:red"),
        (is_axis, "inception_score", "tab:green"),
    ):
        # With an EMA there are two generators to tell apart, the served (averaged) and the raw one;
        # without, one line and no legend ("published" alone explained nothing).
        with_raw = "quality_raw" in rows[0]
        served = "served (EMA of G's weights)" if with_raw else "_served"
        axis.plot(epochs, [row["quality"][figure_name] for row in rows], "o-", color=color, label=served)
        if with_raw:
            raw = [row["quality_raw"][figure_name] for row in rows]
            axis.plot(epochs, raw, "--", color="gray", label="raw (no EMA)")
    fd_axis.set(xlabel="epoch", ylabel="MNIST-FD (lower is better)", yscale="log", title="Fréchet distance")
    # A log axis, read as plain numbers (20, 30, 60) rather than 2×10¹.
    for ticks in (fd_axis.yaxis.set_major_formatter, fd_axis.yaxis.set_minor_formatter):
        ticks(FuncFormatter(lambda value, _: f"{value:g}"))
    is_axis.set(xlabel="epoch", ylabel="classifier IS (10 is ideal)", title="Inception Score")
    histogram = rows[-1]["quality"]["digit_histogram"]
    histogram_axis.bar(range(10), [100 * share for share in histogram], color="tab:blue")
    histogram_axis.axhline(10, color="gray", linestyle="--", linewidth=1, label="uniform (10%)")
    histogram_axis.set(
        xlabel="predicted digit",
        ylabel="% of samples",
        xticks=range(10),
        title=f"Digits drawn (epoch {rows[-1]['epoch']})",
    )
    for axis in (fd_axis, is_axis, histogram_axis):
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="best", fontsize=9 if narrow else None)
        axis.grid(alpha=0.3)
    return figure


RECIPE_STYLES = {"improved": "-", "tutorial": "--"}


def recipes_figure(histories: dict[str, History], by: str = "epoch", narrow: bool = False) -> Figure:
    """D(x) and D(G(z)) of several runs on one axis, with the 0.5 of the tutorial's claim, per epoch
    (or per `by`: the race's rows are per second)."""
    figure = Figure(figsize=(NARROW_WIDTH_IN, 5) if narrow else (12, 4.5), layout="constrained")
    axis = figure.subplots()
    others = iter((":", "-."))
    for label, history in histories.items():
        # Each recipe drawn the same way on every plot (the answer's, the race's): R1 solid, the
        # tutorial's dashed, whichever comes first; other runs dotted, then dash-dotted.
        style = RECIPE_STYLES.get(label.split()[0]) or next(others, "-")
        epochs = column(history, by)
        axis.plot(epochs, column(history, "d_x"), style, color="tab:green", label=f"D(x), {label}")
        axis.plot(epochs, column(history, "d_g_z"), style, color="tab:blue", label=f"D(G(z)), {label}")
    axis.axhline(0.5, color="gray", linewidth=1, label="0.5 (the tutorial's claim)")
    title = "D's scores of the two recipes" if narrow else "Discriminator scores of the two recipes"
    axis.set(xlabel=by, ylabel="mean score", ylim=(0, 1), title=title)
    if narrow:
        figure.legend(**NARROW_LEGEND)
    else:
        axis.legend(loc="best", ncols=2)
    axis.grid(alpha=0.3)
    return figure


def digit_histograms_figure(histories: dict[str, History], narrow: bool = False) -> Figure | None:
    """Each run's share of each digit at its last evaluation, bars side by side, with 10%."""
    shares = {}
    for label, history in histories.items():
        rows = quality_rows(history)
        if rows:
            shares[f"{label}, epoch {rows[-1]['epoch']}"] = rows[-1]["quality"]["digit_histogram"]
    if not shares:
        return None
    figure = Figure(figsize=(NARROW_WIDTH_IN, 4.4) if narrow else (12, 3.8), layout="constrained")
    axis = figure.subplots()
    width = 0.8 / len(shares)
    for index, (label, histogram) in enumerate(shares.items()):
        offsets = [digit - 0.4 + width * (index + 0.5) for digit in range(10)]
        axis.bar(offsets, [100 * share for share in histogram], width=width, label=label)
    axis.axhline(10, color="gray", linestyle="--", linewidth=1, label="uniform (10%)")
    axis.set(xlabel="digit, as an MNIST classifier reads it", ylabel="% of samples", xticks=range(10),
             title="Which digits each generator draws")  # fmt: skip
    if narrow:
        figure.legend(**NARROW_LEGEND)
    else:
        axis.legend(loc="best")
    axis.grid(alpha=0.3, axis="y")
    return figure
