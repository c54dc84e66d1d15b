"""Statistics from the real review history: reviews per day, the due forecast, retention by section
and by backend, and the hardest cards (leeches flagged). Terminal plots through textual-plotext,
imported only when this screen opens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from quiz.core.text import visible
from quiz.tui.base import QuizScreen
from quiz.tui.messages import Failed, StatsLoaded
from quiz.tui.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from quiz.core.stats import Tally
    from quiz.session.dashboards import StatsData


class StatsScreen(QuizScreen[None]):
    HELP = """
**Statistics**, from every answer you rated (exams are kept apart and do not count here).

- **Reviews**: answers per study day over the last 30 days, right and wrong.
- **Forecast**: cards falling due on each of the next 14 days (overdue ones count today).
- **Retention**: the share of right answers per section and per backend.
- **Hardest**: cards with the most lapses (forgotten after being learned) or the fewest right
  answers; a *leech* has lapsed 5 times or more.
- **Year**: a heatmap of your reviews over the last year, one column a week, ending today.

Keys **1**–**5** switch tabs; Esc goes back. `quiz stats` (with `--json`) prints the same.
"""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("1", "tab('reviews')", "Reviews", show=False),
        Binding("2", "tab('forecast')", "Forecast", show=False),
        Binding("3", "tab('retention')", "Retention", show=False),
        Binding("4", "tab('hardest')", "Hardest", show=False),
        Binding("5", "tab('year')", "Year", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: StatsData | None = None

    def compose(self) -> ComposeResult:
        yield Static("reading the review history…", id="stats-head")
        with TabbedContent(id="stats-tabs"):
            with TabPane("1 Reviews", id="reviews"):
                yield PlotextPlot(id="plot-reviews")
            with TabPane("2 Forecast", id="forecast"):
                yield PlotextPlot(id="plot-forecast")
            with TabPane("3 Retention", id="retention"), Horizontal():
                yield PlotextPlot(id="plot-sections")
                yield PlotextPlot(id="plot-backends")
            with TabPane("4 Hardest", id="hardest"):
                yield DataTable(id="hardest-table", cursor_type="row", zebra_stripes=True)
            with TabPane("5 Year", id="year"):
                yield Static(id="year-heatmap")
        yield KeyBar()

    def on_mount(self) -> None:
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def load(self) -> None:
        self.in_background(self._stats_data, doing="reading the review history", group="stats")

    def _stats_data(self) -> StatsLoaded | Failed | None:
        from quiz.session.dashboards import stats_data

        app = self.quiz_app
        study = app.wait_for_study()
        if study is None:
            return None if app.load_error is None else Failed("loading", app.load_error)
        return StatsLoaded(stats_data(study))

    @on(Failed)
    def failed(self, message: Failed) -> None:
        self.query_one("#stats-head", Static).update(
            Text(visible(f"Problem while {message.what}: {message.error}"), style="bold red")
        )

    @on(StatsLoaded)
    def show(self, message: StatsLoaded) -> None:
        d = self.data = message.data
        head = Text()
        head.append(f"{d.total_reviews} answers", style="bold")
        head.append(f" · {d.answers.percent()} right", style="bold")
        head.append(f" · {d.cards_seen} cards seen · streak {d.streak} day{'s' if d.streak != 1 else ''}")
        if d.leeches:
            head.append(f" · {d.leeches} leech{'es' if d.leeches > 1 else ''}", style="bold red")
        if d.total_reviews == 0:
            head.append("\nNo answers yet: study a few cards, then come back.", style="dim")
        self.query_one("#stats-head", Static).update(head)
        self._reviews(d)
        self._forecast(d)
        self._retention(d)
        self._hardest(d)
        self._year(d)

    def _year(self, d: StatsData) -> None:
        from quiz.core.stats import heatmap_lines

        lines = heatmap_lines(d.heatmap)
        studied = sum(1 for _, n in d.heatmap if n)
        head = f"reviews per day over the last year: {studied} day{'s' if studied != 1 else ''} studied"
        self.query_one("#year-heatmap", Static).update(Text("\n".join([head, "", *lines])))

    def _reviews(self, d: StatsData) -> None:
        plot = self.query_one("#plot-reviews", PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        days = d.per_day[-REVIEW_DAYS:]  # terminal bars stay readable up to about two weeks
        x = list(range(len(days)))
        right = [t.correct for t in days]
        wrong = [t.incorrect + t.ungraded for t in days]
        bars: Any = plt.stacked_bar  # plotext takes `labels` and a list of colours (its stubs say otherwise)
        bars(x, [right, wrong], labels=["right", "wrong"], color=["green", "red"], width=0.6)
        ticks = x[::3]
        plt.xticks([float(i) for i in ticks], [days[i].day.strftime("%d %b") for i in ticks])
        _whole_numbers(plt, max((r + w for r, w in zip(right, wrong, strict=True)), default=0))
        plt.title(f"answers per day, last {len(days)} days")
        plot.refresh()

    def _forecast(self, d: StatsData) -> None:
        plot = self.query_one("#plot-forecast", PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        labels = [day.strftime("%a %d") for day, _ in d.forecast]
        counts = [n for _, n in d.forecast]
        plt.bar(labels, counts, color="blue", width=0.6)
        _whole_numbers(plt, max(counts, default=0))
        plt.title(f"cards due, next {len(d.forecast)} days")
        plot.refresh()

    def _retention(self, d: StatsData) -> None:
        for plot_id, tallies, what in (
            ("#plot-sections", d.by_section, "by section"),
            ("#plot-backends", d.by_backend, "by backend"),
        ):
            plot = self.query_one(plot_id, PlotextPlot)
            plt = plot.plt
            plt.clear_figure()
            if tallies:
                names = [visible(name) for name in tallies]  # section names come from decks
                plt.bar(names, [_pct(t) for t in tallies.values()], orientation="horizontal", width=0.3)
                plt.xlim(0, 100)
            plt.title(f"% right {what}")
            plot.refresh()

    def _hardest(self, d: StatsData) -> None:
        table = self.query_one("#hardest-table", DataTable)
        table.clear(columns=True)
        table.add_columns("card", "backend", "lapses", "right", "")
        for h, card in d.hardest:
            table.add_row(
                h.card_uid,
                card.backend.value if card else "?",
                Text(str(h.lapses), justify="right"),
                f"{h.answers.correct}/{h.answers.total}",
                Text("LEECH", style="bold red") if h.leech else "",
            )
        if not d.hardest:
            table.add_row(Text("no card has given you trouble yet", style="dim"), "", "", "", "")


REVIEW_DAYS = 14


def _whole_numbers(plt: Any, top: int) -> None:
    """Counts on the y axis as whole numbers (plotext would write 0.50, 1.50…)."""
    step = max(1, -(-top // 5))
    plt.yticks(list(range(0, max(top, 1) + step, step)))
    plt.ylim(0, max(top, 1))


def _pct(t: Tally) -> float:
    return round(100 * t.rate, 1) if t.rate is not None else 0.0
