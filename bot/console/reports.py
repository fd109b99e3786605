"""``/admin/reports``: the period's figures, each chart as a server-drawn SVG with its CSV export."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from sqlalchemy.orm import Session

from bot.auth import require
from bot.console.pages import staff_page
from knowledge_base import reports
from knowledge_base.db import session_factory
from knowledge_base.ratings import LEVELS

CHANNELS = {"rest": "API", "widget": "Web", "telegram": "Telegram", "zalo": "Zalo"}
COLUMNS = {
    "day": "Ngày", "channel": "Kênh", "conversations": "Cuộc trò chuyện", "messages": "Tin nhắn",
    "answered_by_bot": "Trợ lý ảo tự trả lời", "escalated": "Chuyển tổng đài viên", "escalated_share": "Tỷ lệ chuyển (%)",
    "code": "Mã thủ tục", "name": "Tên thủ tục", "field": "Lĩnh vực", "ratings": "Lượt đánh giá",
    "satisfied": "Hài lòng + Rất hài lòng", "index": "Chỉ số hài lòng (%)", **LEVELS,
    "factor": "Mã tiêu chí", "label": "Tiêu chí SIPAS", "answers": "Lượt chấm", "average": "Điểm trung bình (1–5)",
    "opened": "Tiếp nhận", "resolved": "Đã giải quyết", "handoffs": "Yêu cầu gặp tổng đài viên", "taken": "Đã nhận",
    "median_seconds": "Trung vị thời gian chờ (giây)", "p90_seconds": "Phân vị 90 thời gian chờ (giây)",
}


def _charts():
    """matplotlib is loaded on the first chart, not with the gateway."""
    from bot import report_charts

    return report_charts


@dataclass(frozen=True)
class Chart:
    title: str
    rows: Callable[[Session, reports.Period], list[dict]]
    draw: Callable[[list[dict], reports.Period], bytes]


def _by_channel(key: str, ylabel: str, title: str) -> Callable[[list[dict], reports.Period], bytes]:
    def draw(rows: list[dict], period: reports.Period) -> bytes:
        days = [day.isoformat() for day in period.days()]
        channels = sorted({row["channel"] for row in rows})
        charts = _charts()
        series = [charts.Series(CHANNELS.get(channel, channel),
                                [next((r[key] for r in rows if r["day"] == day and r["channel"] == channel), 0) for day in days])
                  for channel in channels]
        return charts.stacked_days(title, days, series, ylabel)
    return draw


def _days(kind: str, title: str, keys: dict[str, str], ylabel: str, **options) -> Callable[[list[dict], reports.Period], bytes]:
    def draw(rows: list[dict], period: reports.Period) -> bytes:
        charts = _charts()
        return getattr(charts, kind)(title, [row["day"] for row in rows], [charts.Series(label, [row[key] for row in rows])
                                                          for key, label in keys.items()], ylabel, **options)
    return draw


def _ranked(title: str, label: Callable[[dict], str], value: str, xlabel: str, limit_x: float | None = None):
    def draw(rows: list[dict], period: reports.Period) -> bytes:
        return _charts().ranked_bars(title, [label(row) for row in rows], [row[value] for row in rows], xlabel, limit_x)
    return draw


CHARTS: dict[str, Chart] = {
    "conversations": Chart("Cuộc trò chuyện mỗi ngày theo kênh", reports.traffic,
                           _by_channel("conversations", "Cuộc trò chuyện", "Cuộc trò chuyện mỗi ngày theo kênh")),
    "messages": Chart("Tin nhắn mỗi ngày theo kênh", reports.traffic,
                      _by_channel("messages", "Tin nhắn", "Tin nhắn mỗi ngày theo kênh")),
    "outcomes": Chart("Trợ lý ảo tự trả lời và chuyển tổng đài viên", reports.outcomes,
                      _days("stacked_days", "Trợ lý ảo tự trả lời và chuyển tổng đài viên",
                            {"answered_by_bot": "Trợ lý ảo tự trả lời", "escalated": "Chuyển tổng đài viên"}, "Cuộc trò chuyện")),
    "procedures": Chart("Thủ tục được hỏi nhiều nhất", reports.top_procedures,
                        _ranked("Thủ tục được hỏi nhiều nhất", lambda r: f"{r['name']} ({r['code']})", "conversations",
                                "Cuộc trò chuyện")),
    "fields": Chart("Lĩnh vực được hỏi nhiều nhất", reports.top_fields,
                    _ranked("Lĩnh vực được hỏi nhiều nhất", lambda r: r["field"], "conversations", "Cuộc trò chuyện")),
    "satisfaction": Chart("Chỉ số hài lòng theo ngày", reports.satisfaction_by_day,
                          _days("lines_days", "Chỉ số hài lòng theo ngày (Hài lòng + Rất hài lòng)",
                                {"index": "Chỉ số hài lòng (%)"}, "%", percent=True)),
    "satisfaction-fields": Chart("Chỉ số hài lòng theo lĩnh vực", reports.satisfaction_by_field,
                                 _ranked("Chỉ số hài lòng theo lĩnh vực (%)", lambda r: f"{r['field']} ({r['ratings']} lượt)",
                                         "index", "%", 100)),
    "sipas": Chart("Điểm trung bình các tiêu chí SIPAS", reports.sipas_factors,
                   _ranked("Điểm trung bình các tiêu chí SIPAS (1–5)", lambda r: r["label"], "average", "Điểm", 5)),
    "tickets": Chart("Phản ánh, yêu cầu tiếp nhận và giải quyết", reports.tickets_by_day,
                     _days("lines_days", "Phản ánh, yêu cầu tiếp nhận và giải quyết",
                           {"opened": "Tiếp nhận", "resolved": "Đã giải quyết"}, "Phiếu")),
    "response": Chart("Thời gian chờ tổng đài viên nhận", reports.operator_response,
                      _days("lines_days", "Thời gian từ khi yêu cầu đến khi tổng đài viên nhận",
                            {"median_seconds": "Trung vị (giây)", "p90_seconds": "Phân vị 90 (giây)"}, "Giây")),
}


def _period(request: Request) -> reports.Period:
    return reports.Period.parse(request.query_params.get("from"), request.query_params.get("to"))


def _rows(name: str, period: reports.Period) -> list[dict]:
    with session_factory()() as session:
        return CHARTS[name].rows(session, period)


def _summary(period: reports.Period) -> dict:
    with session_factory()() as session:
        outcomes = reports.outcomes(session, period)
        traffic = reports.traffic(session, period)
        ratings = reports.satisfaction_by_day(session, period)
        total = sum(row["conversations"] for row in outcomes)
        escalated = sum(row["escalated"] for row in outcomes)
        rated = sum(row["ratings"] for row in ratings)
        happy = sum(row["hai_long"] + row["rat_hai_long"] for row in ratings)
        return {
            "from": period.start.isoformat(), "to": period.end.isoformat(),
            "conversations": total, "messages": sum(row["messages"] for row in traffic),
            "answered_by_bot": total - escalated, "escalated": escalated,
            "ratings": rated, "satisfaction_index": round(100 * happy / rated, 1) if rated else None,
            "tickets": reports.tickets_summary(session, period), "response": reports.response_summary(session, period),
            "charts": [{"name": name, "title": chart.title} for name, chart in CHARTS.items()],
        }


def _bad_period(error: reports.PeriodError) -> JSONResponse:
    return JSONResponse({"error": str(error)}, status_code=400)


@require("admin")
async def page(request: Request) -> Response:
    return staff_page("reports.html")


@require("admin")
async def summary(request: Request) -> Response:
    """GET /api/admin/reports?from=YYYY-MM-DD&to=YYYY-MM-DD: the period's headline figures and its charts."""
    try:
        return JSONResponse(await run_in_threadpool(_summary, _period(request)))
    except reports.PeriodError as error:
        return _bad_period(error)


async def _for_chart(request: Request, answer: Callable[[str, reports.Period], Response]) -> Response:
    """``answer(chart name, period)`` from the URL, in a worker thread; 404/400 when either is wrong."""
    name = request.path_params["name"]
    if name not in CHARTS:
        return JSONResponse({"error": "Không có biểu đồ này."}, status_code=404)
    try:
        period = _period(request)
    except reports.PeriodError as error:
        return _bad_period(error)
    return await run_in_threadpool(answer, name, period)


def _svg(name: str, period: reports.Period) -> Response:
    return Response(CHARTS[name].draw(_rows(name, period), period), media_type="image/svg+xml",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def to_csv(rows: list[dict]) -> str:
    """Rows as CSV with Vietnamese headers; a BOM so spreadsheet programs read the marks as UTF-8."""
    out = io.StringIO()
    out.write("\ufeff")
    if rows:
        writer = csv.writer(out)
        writer.writerow([COLUMNS.get(key, key) for key in rows[0]])
        writer.writerows([["" if value is None else value for value in row.values()] for row in rows])
    return out.getvalue()


def _csv(name: str, period: reports.Period) -> Response:
    filename = f"bao-cao-{name}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(to_csv(_rows(name, period)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@require("admin")
async def chart_svg(request: Request) -> Response:
    """GET /admin/reports/charts/{name}.svg?from&to"""
    return await _for_chart(request, _svg)


@require("admin")
async def chart_csv(request: Request) -> Response:
    """GET /admin/reports/csv/{name}.csv?from&to: the numbers behind the chart."""
    return await _for_chart(request, _csv)


routes = [
    Route("/admin/reports", page, methods=["GET"]),
    Route("/api/admin/reports", summary, methods=["GET"]),
    Route("/admin/reports/charts/{name}.svg", chart_svg, methods=["GET"]),
    Route("/admin/reports/csv/{name}.csv", chart_csv, methods=["GET"]),
]
