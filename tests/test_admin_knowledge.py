"""The admin knowledge API: FAQ versions, publish, diff, roll back; catalogue preview/import/edit; exports; live indexes."""
from __future__ import annotations

import base64
import io
import time

from openpyxl import load_workbook
from sqlalchemy import func, select

from bot import json_body
from bot.settings import get_settings
from knowledge_base import catalogue, faq_search, revisions
from knowledge_base.cli import DEMO
from knowledge_base.db import session_factory, transaction
from knowledge_base.importers.batch import read_path, store
from knowledge_base.models import AuditLog, FaqVersion, Procedure
from staff_helpers import make_staff, signed_in

CSV_HEAD = "code,name,truc_tiep_processing_time,truc_tiep_fee,truc_tiep_fee_amount\n"


def _admin(hcc_env):
    with transaction() as session:
        store(session, read_path(DEMO))
    make_staff("hoa", "admin")
    browser, csrf = signed_in("hoa")
    return browser, {"X-CSRF-Token": csrf}


def _upload(name: str, text: str) -> dict:
    return {"filename": name, "content": base64.b64encode(text.encode("utf-8")).decode()}


def _audit(action: str) -> int:
    with session_factory()() as session:
        return session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == action))


def test_faq_lifecycle_versions_diff_rollback(hcc_env):
    browser, csrf = _admin(hcc_env)
    body = {"question": "Trung tâm có chỗ gửi xe máy không?", "answer": "Có, bãi gửi xe miễn phí ở cổng sau.",
            "variants": ["có bãi giữ xe không"], "tags": ["tiện ích"], "procedure_codes": []}
    assert browser.post("/api/admin/faq", json=body).status_code == 403  # no CSRF token
    created = browser.post("/api/admin/faq", json=body, headers=csrf)
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["status"] == "draft" and entry["version"] == 1 and entry["versions"][0]["author"] == "hoa"
    service = faq_search.FaqService(session_factory(), interval=0)
    assert service.match("Trung tâm có chỗ gửi xe máy không?") is None  # a draft is not answered

    faq_id = entry["id"]
    published = browser.post(f"/api/admin/faq/{faq_id}/publish", json={}, headers=csrf).json()
    assert published["status"] == "published" and published["version"] == 2
    service.refresh()
    assert service.match("trung tam co cho gui xe may khong").item.answer == body["answer"]

    edited = browser.put(f"/api/admin/faq/{faq_id}", json={**body, "answer": "Có, bãi gửi xe thu 5.000 đồng."}, headers=csrf)
    assert edited.json()["version"] == 3 and edited.json()["status"] == "published"
    changes = browser.get(f"/api/admin/faq/{faq_id}/diff?from=2&to=3").json()["changes"]
    assert [c["field"] for c in changes] == ["answer"]
    assert changes[0]["removed"] == [body["answer"]] and changes[0]["added"] == ["Có, bãi gửi xe thu 5.000 đồng."]

    rolled = browser.post(f"/api/admin/faq/{faq_id}/rollback", json={"version": 1}, headers=csrf).json()
    assert rolled["version"] == 4 and rolled["status"] == "draft" and rolled["answer"] == body["answer"]
    assert [v["version"] for v in rolled["versions"]] == [4, 3, 2, 1]
    for action in ("faq_created", "faq_published", "faq_updated", "faq_rolled_back"):
        assert _audit(action) == 1, action

    found = browser.get("/api/admin/faq", params={"q": "gui xe", "status": "draft"}).json()["entries"]
    assert [e["id"] for e in found] == [faq_id]


def test_faq_bad_input_changes_nothing(hcc_env):
    browser, csrf = _admin(hcc_env)
    with session_factory()() as session:
        before = session.scalar(select(func.count()).select_from(FaqVersion))
    unknown = browser.post("/api/admin/faq", json={"question": "Hỏi?", "answer": "Đáp.", "procedure_codes": ["9.999999"]}, headers=csrf)
    assert unknown.status_code == 400 and "9.999999" in unknown.json()["error"]
    empty = browser.post("/api/admin/faq", json={"question": " ", "answer": "Đáp."}, headers=csrf)
    assert empty.status_code == 400 and "câu hỏi" in empty.json()["error"]
    assert browser.post("/api/admin/faq/999999/publish", json={}, headers=csrf).status_code == 404
    with transaction() as session:  # a draft without an answer, as the learning inbox makes them
        from knowledge_base.models import FaqEntry

        draft = FaqEntry(question="Có chỗ sạc điện thoại không?", answer="", status="draft", version=1)
        session.add(draft)
        session.flush()
        draft_id = draft.id
    unanswered = browser.post(f"/api/admin/faq/{draft_id}/publish", json={}, headers=csrf)
    assert unanswered.status_code == 400 and "câu trả lời" in unanswered.json()["error"]
    with session_factory()() as session:
        assert session.scalar(select(func.count()).select_from(FaqVersion)) == before


def test_catalogue_preview_then_import(hcc_env):
    browser, csrf = _admin(hcc_env)
    text = CSV_HEAD + "9.900001,Thủ tục thử nghiệm mới,10 ngày làm việc,50.000 đồng,50000\n" \
                      "3.000347,Đổi giấy phép lái xe,5 ngày làm việc,Lệ phí 200.000 đồng,200000\n"
    preview = browser.post("/api/admin/catalogue/preview", json=_upload("doi.csv", text), headers=csrf).json()
    assert preview["applied"] is False
    assert [p["code"] for p in preview["new"]] == ["9.900001"]
    assert [p["code"] for p in preview["changed"]] == ["3.000347"] and "channels" in preview["changed"][0]["fields"]
    assert preview["counts"]["removed"] == 0 and preview["counts"]["absent"] > 0
    with session_factory()() as session:
        assert catalogue.get_procedure(session, "9.900001") is None  # the preview wrote nothing

    done = browser.post("/api/admin/catalogue/import", json=_upload("doi.csv", text), headers=csrf).json()
    assert done["applied"] is True and done["counts"]["new"] == 1
    with session_factory()() as session:
        assert catalogue.get_procedure(session, "9.900001").channels[0].fee_amount == 50000
    assert _audit("catalogue_imported") == 1


def test_catalogue_broken_row_changes_nothing(hcc_env):
    browser, csrf = _admin(hcc_env)
    with session_factory()() as session:
        before = session.scalar(select(func.count()).select_from(Procedure))
        revision = revisions.current(session)
    text = CSV_HEAD + "9.900002,Thủ tục tốt,5 ngày,,\n9.900003,Thủ tục hỏng,5 ngày,Lệ phí,mười nghìn\n"
    for endpoint in ("preview", "import"):
        response = browser.post(f"/api/admin/catalogue/{endpoint}", json=_upload("hong.csv", text), headers=csrf)
        assert response.status_code == 400
        error = response.json()["error"]
        assert "hong.csv" in error and "9.900003" in error and "truc_tiep_fee_amount" in error
        assert "Không có thay đổi nào được ghi" in error
    with session_factory()() as session:
        assert session.scalar(select(func.count()).select_from(Procedure)) == before
        assert revisions.current(session) == revision
    odd = browser.post("/api/admin/catalogue/preview", json=_upload("a.exe", "x"), headers=csrf)
    assert odd.status_code == 400 and "định dạng tệp" in odd.json()["error"]


def test_a_catalogue_upload_body_is_read_as_every_admin_body_is(hcc_env, monkeypatch):
    browser, csrf = _admin(hcc_env)
    headers = {**csrf, "Content-Type": "application/json"}
    not_json = browser.post("/api/admin/catalogue/preview", content=b'{"filename": "a.csv", ', headers=headers)
    assert not_json.status_code == 400 and not_json.json()["error"] == json_body.BAD
    lone = browser.post("/api/admin/catalogue/import", content=b'{"filename": "\\ud800.csv", "content": "eA=="}', headers=headers)
    assert lone.status_code == 400 and lone.json()["error"] == json_body.UNSTORABLE
    # NUL, which PostgreSQL refuses in text, anywhere in the body: a value, a list's item, a key.
    for body in (b'{"question": "Q\\u0000", "answer": "A"}', b'{"question": "Q", "answer": "A", "variants": ["v\\u0000"]}',
                 b'{"question": "Q", "answer": "A", "\\u0000": 1}'):
        nul = browser.post("/api/admin/faq", content=body, headers=headers)
        assert (nul.status_code, nul.json()["error"]) == (400, json_body.UNSTORABLE), body
    monkeypatch.setenv("HCC_ADMIN_UPLOAD_MAX_BYTES", "1000000")
    get_settings.cache_clear()
    large = browser.post("/api/admin/catalogue/import", json=_upload("lon.csv", CSV_HEAD + "x" * 1_400_000), headers=csrf)
    assert large.status_code == 400 and large.json()["error"] == "Tệp quá lớn (tối đa 1 MB)."
    assert _audit("catalogue_imported") == 0


def test_edit_procedure_fee_and_committed_time_is_live(hcc_env):
    browser, csrf = _admin(hcc_env)
    from actions.procedure_cache import ProcedureCache

    cache = ProcedureCache()
    assert cache.get("3.000347").channels[-1].fee_amount == 135000
    edit = {"address": "Quầy số 5, Trung tâm Phục vụ hành chính công tỉnh",
            "channels": {"truc_tiep": {"fee": "Lệ phí: 150.000 đồng/lần", "committed_time": "3 ngày làm việc"}}}
    response = browser.put("/api/admin/procedures/3.000347", json=edit, headers=csrf)
    assert response.status_code == 200, response.text
    channel = next(c for c in response.json()["channels"] if c["kind"] == "truc_tiep")
    assert channel["fee_amount"] == 150000 and channel["committed_days"] == 3
    deadline = time.monotonic() + 2
    while cache.get("3.000347").channels[-1].fee_amount != 150000:
        assert time.monotonic() < deadline, "the cached record was not refreshed within 2 s"
        time.sleep(0.05)
    bad = browser.put("/api/admin/procedures/3.000347", json={"channels": {"qua_mang": {"fee": "1"}}}, headers=csrf)
    assert bad.status_code == 400 and "qua_mang" in bad.json()["error"]
    assert browser.put("/api/admin/procedures/0.000000", json={}, headers=csrf).status_code == 404
    assert _audit("procedure_edited") == 1


def test_exports(hcc_env):
    browser, csrf = _admin(hcc_env)
    faq_csv = browser.get("/api/admin/export/faq.csv")
    assert faq_csv.status_code == 200 and faq_csv.content.decode("utf-8-sig").startswith("id,question")
    cat = browser.get("/api/admin/export/catalogue.csv").content.decode("utf-8-sig")
    assert "3.000347" in cat and "Đổi giấy phép lái xe" in cat
    book = load_workbook(io.BytesIO(browser.get("/api/admin/export/catalogue.xlsx").content))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "code" and any(row[0] == "3.000347" for row in rows[1:])
    assert browser.get("/api/admin/export/faq.pdf").status_code == 400
    assert _audit("knowledge_exported") == 3


def test_search_index_follows_catalogue_revision(hcc_env):
    with transaction() as session:
        store(session, read_path(DEMO))
    service = catalogue.SearchService(session_factory(), interval=0.05)
    assert all(hit.code != "9.900009" for hit in service.search("cấp phép nuôi chim yến", top=3))
    make_staff("hoa", "admin")
    with transaction() as session:
        from knowledge_base.importers.batch import Batch
        from knowledge_base.records import Channel, ProcedureRecord

        store(session, Batch(procedures=[ProcedureRecord(code="9.900009", name="Cấp phép nuôi chim yến",
                                                         channels=[Channel(kind="truc_tiep")])]))
    deadline = time.monotonic() + 10
    while not any(hit.code == "9.900009" for hit in service.search("cấp phép nuôi chim yến", top=3)):
        assert time.monotonic() < deadline, "the search index was not rebuilt"
        time.sleep(0.05)


def test_training_job_swaps_the_new_model_into_rasa(hcc_env, monkeypatch, tmp_path):
    """The job follows `hcc train`'s output, then PUTs the new model to Rasa's API (a loopback stand-in here)."""
    import json
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from bot import train_job
    from bot.settings import get_settings
    from stack import free_port

    loaded = []

    class FakeRasa(BaseHTTPRequestHandler):
        def do_PUT(self):
            loaded.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), FakeRasa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HCC_RASA_PORT", str(port))
    get_settings.cache_clear()
    model = tmp_path / "20261127-new.tar.gz"
    script = f"import time; print('Training NLU model...'); time.sleep(0.3); print('Mô hình mới: {model}')"
    try:
        job, started = train_job.start("hoa", command=[sys.executable, "-c", script])
        assert started and job.state in ("running", "swapping")
        again, started_again = train_job.start("lan", command=[sys.executable, "-c", script])
        assert again is job and not started_again  # one job at a time
        deadline = time.monotonic() + 10
        while job.state not in ("done", "failed"):
            assert time.monotonic() < deadline, job.as_dict()
            time.sleep(0.05)
        assert job.state == "done" and job.swapped, job.as_dict()
        assert loaded == [("/model", {"model_file": str(model.resolve())})]

        failing, _ = train_job.start("hoa", command=[sys.executable, "-c", "raise SystemExit(3)"])
        while failing.state not in ("done", "failed"):
            time.sleep(0.05)
        assert failing.state == "failed" and "3" in failing.error and len(loaded) == 1
    finally:
        server.shutdown()
