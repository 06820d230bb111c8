"""The HTML report for people who would rather look at a chart than at a table.

It reads the published copy (pipeline.publish), not the warehouse, so making a report never
holds the warehouse's lock against a running pipeline. The page is self-contained: plotly.js is
embedded once, so it renders without a network.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from pipeline.config import ConfigError, Settings
from pipeline.publish import published_db

TOP_CHURNERS = 10
GAINED_COLOR, LOST_COLOR, LINE_COLOR = "#2e9e5b", "#d1495b", "#1f4e79"
_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

_LATEST_SQL = """
SELECT snapshot_date, followers, following, mutuals, reciprocity, lopsided,
       is_churning_own_following
FROM mart.reciprocity_daily WHERE account_id = ? ORDER BY snapshot_date DESC LIMIT 1
"""
_LAST_QUESTION_SQL = """
SELECT posted_at, response_rate, follower_repliers_24h, audience, status
FROM mart.question_response WHERE account_id = ? ORDER BY posted_at DESC LIMIT 1
"""
_TOP_CHURNERS_SQL = f"""
SELECT
    user_id,
    count(*) AS episodes,
    max(unfollowed_on) AS last_unfollowed_on,
    arg_max(days_followed, unfollowed_on) AS days_followed,
    arg_max(following_count_growth_per_day, unfollowed_on) AS following_growth_per_day,
    arg_max(following_to_followers_ratio, unfollowed_on) AS following_to_followers_ratio
FROM mart.churners
WHERE account_id = ? AND is_churn
GROUP BY user_id
ORDER BY episodes DESC, last_unfollowed_on DESC, user_id
LIMIT {TOP_CHURNERS}
"""
_CURVES_SQL = """
SELECT curve.tweet_id, curve.posted_at, curve.hour, curve.follower_repliers,
       curve.response_rate, tweets.text
FROM mart.question_response_curve AS curve
LEFT JOIN staging.stg_tweets AS tweets USING (account_id, tweet_id)
WHERE curve.account_id = ?
ORDER BY curve.posted_at, curve.hour
"""


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    figure: go.Figure | None
    empty_note: str = ""


def _frame(con: duckdb.DuckDBPyConnection, sql: str, account_id: int) -> pd.DataFrame:
    return con.execute(sql, [account_id]).df()


def _layout(figure: go.Figure, y_title: str, percent: str = "") -> go.Figure:
    """`percent` is the d3 format of a share axis, e.g. ".0%"."""
    figure.update_layout(
        template="plotly_white",
        height=340,
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.18},
        hovermode="x unified",
    )
    figure.update_yaxes(title_text=y_title, tickformat=percent or ",")
    return figure


def followers_chart(churn: pd.DataFrame) -> go.Figure | None:
    if churn.empty:
        return None
    # The first row's start count is the follower count at the first complete snapshot.
    dates = [churn["previous_snapshot_date"].iloc[0], *churn["snapshot_date"]]
    counts = [churn["followers_start"].iloc[0], *churn["followers_end"]]
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4], vertical_spacing=0.06
    )
    figure.add_scatter(
        x=dates,
        y=counts,
        name="followers",
        mode="lines+markers",
        line={"color": LINE_COLOR, "width": 3},
        row=1,
        col=1,
    )
    figure.add_bar(
        x=churn["snapshot_date"],
        y=churn["gained"],
        name="gained",
        marker_color=GAINED_COLOR,
        row=2,
        col=1,
    )
    figure.add_bar(
        x=churn["snapshot_date"],
        y=-churn["lost"],
        name="lost",
        marker_color=LOST_COLOR,
        customdata=churn["lost"],
        hovertemplate="%{customdata}",
        row=2,
        col=1,
    )
    figure.update_layout(barmode="relative")
    _layout(figure, "followers")
    figure.update_layout(height=420)
    figure.update_yaxes(title_text="gained / lost", row=2, col=1)
    return figure


def reciprocity_chart(reciprocity: pd.DataFrame) -> go.Figure | None:
    if reciprocity.empty:
        return None
    figure = go.Figure()
    for column, name in (
        ("followback_given_rate", "followers it follows back"),
        ("followback_received_rate", "followed accounts that follow back"),
        ("reciprocity", "reciprocity (mutual pairs / all pairs)"),
    ):
        figure.add_scatter(
            x=reciprocity["snapshot_date"], y=reciprocity[column], name=name, mode="lines"
        )
    return _layout(figure, "share", percent=".0%")


def churn_rate_chart(churn: pd.DataFrame) -> go.Figure | None:
    if churn.empty:
        return None
    figure = go.Figure()
    figure.add_scatter(
        x=churn["snapshot_date"],
        y=churn["churn_rate"],
        name="churn rate",
        mode="lines+markers",
        line={"color": LOST_COLOR},
        customdata=churn[["lost", "followers_start", "gap_days"]],
        hovertemplate="%{y:.2%}: %{customdata[0]} of %{customdata[1]} over "
        "%{customdata[2]} day(s)<extra></extra>",
    )
    return _layout(figure, "followers lost / followers at start", percent=".2~%")


def retention_chart(retention: pd.DataFrame) -> go.Figure | None:
    if retention.empty:
        return None
    figure = go.Figure()
    weeks = retention["cohort_week"].astype(str)
    for column, label in (
        ("retained_7d", "7 days"),
        ("retained_30d", "30 days"),
        ("retained_90d", "90 days"),
    ):
        figure.add_bar(
            x=weeks,
            y=retention[column],
            name=f"still following after {label}",
            customdata=retention["cohort_size"],
            hovertemplate="%{y:.0%} of %{customdata} followers",
        )
    _layout(figure, "share of the cohort", percent=".0%")
    figure.update_xaxes(title_text="cohort: week the followers first appeared", type="category")
    figure.update_yaxes(range=[0, 1])
    return figure


def _question_label(posted_at: pd.Timestamp, text: str | None) -> str:
    text = " ".join((text or "").split())
    short = text if len(text) <= 48 else text[:47] + "…"
    return f"{posted_at:%b %d %H:%M} {short}".strip()


def question_curves_chart(curves: pd.DataFrame) -> go.Figure | None:
    if curves.empty:
        return None
    figure = go.Figure()
    for _, question in curves.groupby(["posted_at", "tweet_id"], sort=True):
        first = question.iloc[0]
        figure.add_scatter(
            x=question["hour"],
            y=question["response_rate"],
            mode="lines",
            name=_question_label(first["posted_at"], first["text"]),
            customdata=question["follower_repliers"],
            hovertemplate="%{y:.1%} (%{customdata} followers)",
        )
    _layout(figure, "followers who replied", percent=".2~%")
    figure.update_xaxes(title_text="hours since posting", range=[1, 24], dtick=2)
    figure.update_layout(
        hovermode="closest", legend={"orientation": "v", "y": 1, "x": 1.02}, margin={"r": 300}
    )
    return figure


def _chart_html(chart: Chart, handle: str) -> str:
    title = f"<h3>{html.escape(chart.title)}</h3>"
    if chart.figure is None:
        return f'{title}<p class="empty">{html.escape(chart.empty_note)}</p>'
    body = pio.to_html(
        chart.figure,
        full_html=False,
        include_plotlyjs=False,
        div_id=f"chart-{handle}-{chart.key}",
        config=_PLOTLY_CONFIG,
    )
    return f'{title}<figure class="chart" data-chart="{chart.key}">{body}</figure>'


def _number(value, percent: str = "") -> str:
    """`percent` is a format spec for a share, e.g. ".1%"; without it, a count."""
    if value is None or pd.isna(value):
        return "–"
    return format(value, percent) if percent else f"{int(value):,}"


def _figure(label: str, metric: str, value: str, note: str = "") -> str:
    note_html = f'<span class="note">{html.escape(note)}</span>' if note else ""
    return (
        f'<div class="figure"><dt>{html.escape(label)}</dt>'
        f'<dd data-metric="{metric}">{html.escape(value)}</dd>{note_html}</div>'
    )


def _headline(con: duckdb.DuckDBPyConnection, account_id: int) -> str:
    latest = con.execute(_LATEST_SQL, [account_id]).fetchall()
    question = con.execute(_LAST_QUESTION_SQL, [account_id]).fetchall()
    figures = []
    if latest:
        day, followers, following, mutuals, reciprocity, lopsided, self_churn = latest[0]
        figures += [
            _figure("Followers", "followers", _number(followers), f"on {day}"),
            _figure("Following", "following", _number(following)),
            _figure("Mutuals", "mutuals", _number(mutuals)),
            _figure("Reciprocity", "reciprocity", _number(reciprocity, percent=".1%")),
        ]
        flags = [
            text
            for flag, text in (
                (lopsided, "lopsided: follows far more than follow it"),
                (self_churn, "churns its own following"),
            )
            if flag
        ]
        if flags:
            figures.append(_figure("Flags", "flags", "; ".join(flags)))
    if question:
        posted_at, rate, repliers, audience, status = question[0]
        figures.append(
            _figure(
                "Last question's response rate",
                "last_question_response_rate",
                # Response rates are often well under 1%.
                _number(rate, percent=".2%"),
                f"{_number(repliers)} of {_number(audience)} followers within 24 h "
                f"({status}, posted {posted_at:%Y-%m-%d %H:%M} UTC)",
            )
        )
    return f'<dl class="figures">{"".join(figures)}</dl>'


def _churners_table(churners: pd.DataFrame) -> str:
    title = "<h3>Top follow churners</h3>"
    if churners.empty:
        return f'{title}<p class="empty">No follow churner episodes yet.</p>'
    header = (
        "<tr><th>user</th><th>churn episodes</th><th>last unfollowed</th><th>days followed</th>"
        "<th>following growth / day</th><th>following / followers</th></tr>"
    )
    rows = []
    for row in churners.itertuples(index=False):
        growth = row.following_growth_per_day
        ratio = row.following_to_followers_ratio
        rows.append(
            f'<tr><td><a href="https://x.com/i/user/{row.user_id}">{row.user_id}</a></td>'
            f"<td class=num>{row.episodes}</td>"
            f"<td>{row.last_unfollowed_on:%Y-%m-%d}</td><td class=num>{row.days_followed}</td>"
            f"<td class=num>{'–' if pd.isna(growth) else f'{growth:,.1f}'}</td>"
            f"<td class=num>{'–' if pd.isna(ratio) else f'{ratio:,.2f}'}</td></tr>"
        )
    return f'{title}<table class="churners">{header}{"".join(rows)}</table>'


def account_section(con: duckdb.DuckDBPyConnection, account_id: int, handle: str) -> str:
    churn = _frame(
        con, "FROM mart.churn_daily WHERE account_id = ? ORDER BY snapshot_date", account_id
    )
    reciprocity = _frame(
        con, "FROM mart.reciprocity_daily WHERE account_id = ? ORDER BY snapshot_date", account_id
    )
    retention = _frame(
        con, "FROM mart.follower_retention WHERE account_id = ? ORDER BY cohort_week", account_id
    )
    no_snapshots = "Needs two complete follower snapshots."
    charts = [
        Chart(
            "followers", "Followers, with gains and losses", followers_chart(churn), no_snapshots
        ),
        Chart(
            "reciprocity",
            "Reciprocity",
            reciprocity_chart(reciprocity),
            "Needs a date with complete followers and following snapshots.",
        ),
        Chart("churn_rate", "Churn rate", churn_rate_chart(churn), no_snapshots),
        Chart(
            "retention", "Retention by cohort", retention_chart(retention), "No new followers yet."
        ),
        Chart(
            "question_curves",
            "Question response over 24 hours",
            question_curves_chart(_frame(con, _CURVES_SQL, account_id)),
            "No questions detected yet.",
        ),
    ]
    return (
        f'<section class="account" data-account="{handle}" id="account-{handle}">'
        f"<h2>@{handle}</h2>{_headline(con, account_id)}"
        + "".join(_chart_html(chart, handle) for chart in charts)
        + _churners_table(_frame(con, _TOP_CHURNERS_SQL, account_id))
        + "</section>"
    )


def _accounts(con: duckdb.DuckDBPyConnection, handles: list[str] | None) -> list[tuple[int, str]]:
    accounts = con.execute(
        "SELECT account_id, handle FROM meta.accounts ORDER BY handle"
    ).fetchall()
    if not handles:
        return accounts
    by_handle = {handle.lower(): (account_id, handle) for account_id, handle in accounts}
    unknown = [h for h in handles if h.lower() not in by_handle]
    if unknown:
        known = ", ".join(handle for _, handle in accounts) or "none"
        raise ConfigError(f"No published data for {', '.join(unknown)}. Published: {known}.")
    return [by_handle[h.lower()] for h in handles]


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222;
       padding: 0 1rem; }
h1 { margin-bottom: 0; } .generated { color: #666; margin-top: .2rem; }
section.account { border-top: 3px solid #1f4e79; margin-top: 2.5rem; }
dl.figures { display: flex; flex-wrap: wrap; gap: 1rem; }
dl.figures .figure { background: #f3f6fa; border-radius: 8px; padding: .6rem 1rem;
       min-width: 9rem; }
dl.figures dt { font-size: .85rem; color: #555; } dl.figures dd { margin: 0; font-size: 1.6rem;
       font-weight: 600; }
dl.figures .note { font-size: .75rem; color: #666; }
figure.chart { margin: 0; } p.empty { color: #777; font-style: italic; }
table.churners { border-collapse: collapse; } table.churners th, table.churners td {
       border-bottom: 1px solid #ddd; padding: .3rem .7rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
"""


def render(db_path: Path, handles: list[str] | None = None) -> str:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        sections = [account_section(con, a, h) for a, h in _accounts(con, handles)]
    finally:
        con.close()
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<title>Followback report</title>"
        f"<style>{_STYLE}</style><script>{get_plotlyjs()}</script></head><body>"
        "<h1>Followback report</h1>"
        f'<p class="generated">Generated {generated} from the published copy. Definitions: '
        "the table catalogue in the README (<code>followback catalog</code>).</p>"
        + "".join(sections)
        + "</body></html>"
    )


def write_report(settings: Settings, out: Path, handles: list[str] | None = None) -> Path:
    source = published_db(settings)
    if not source.exists():
        raise FileNotFoundError(
            f"No published copy at {source}: `followback demo`, `followback publish` and the "
            "DAG's publish task write it."
        )
    page = render(source, handles)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name first, so a browser never loads half a report.
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(out)
    return out
