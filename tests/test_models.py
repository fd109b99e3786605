"""The data model on SQLite and PostgreSQL: migrations, constraints, cascades, round trips."""
from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, inspect, select
from sqlalchemy.exc import IntegrityError

from knowledge_base.db import make_engine, migrate
from knowledge_base.models import (
    AuditLog,
    Base,
    Conversation,
    Dossier,
    FaqEntry,
    FaqVersion,
    Handoff,
    Message,
    Procedure,
    ProcedureChannel,
    ProcedureDocument,
    Rating,
    StaffUser,
    Ticket,
    TicketEvent,
)


def test_migration_creates_every_table_of_the_models(hcc_env):
    engine = make_engine(hcc_env)
    migrate(engine)
    migrate(engine)  # a second run is a no-op, not an error
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_the_migrations_build_the_schema_the_models_describe(hcc_env):
    """Tables, columns and indexes alike: a model's index without its migration would never reach a database."""
    engine = make_engine(hcc_env)
    migrate(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_a_migration_cut_short_leaves_nothing_behind_and_the_next_start_completes_it(hcc_env):
    """A first start killed or failing mid-migration must not leave tables without their revision:
    every later start would then stop on "table already exists"."""
    engine = make_engine(hcc_env)
    statements = []

    def fail_halfway(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
        if statement.lstrip().upper().startswith("CREATE TABLE MESSAGES"):
            raise RuntimeError("the process dies here")

    event.listen(engine, "before_cursor_execute", fail_halfway)
    with pytest.raises(RuntimeError):
        migrate(engine)
    event.remove(engine, "before_cursor_execute", fail_halfway)
    assert any(s.lstrip().upper().startswith("CREATE TABLE CONVERSATIONS") for s in statements)  # it got that far
    assert set(inspect(engine).get_table_names()) == set()
    migrate(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


MIGRATE_WHEN_TOLD = """
import sys, time
from pathlib import Path
from knowledge_base.db import make_engine, migrate
ready, go = Path(sys.argv[2]), Path(sys.argv[3])
ready.touch()
while not go.exists():
    time.sleep(0.005)
migrate(make_engine(sys.argv[1]))
"""


def test_two_processes_starting_on_a_new_sqlite_file_at_once_both_find_the_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'hcc.db'}"
    go = tmp_path / "go"
    readies = [tmp_path / f"ready{number}" for number in range(3)]
    processes = [subprocess.Popen([sys.executable, "-c", MIGRATE_WHEN_TOLD, url, str(ready), str(go)],
                                  cwd=Path(__file__).resolve().parent.parent, stderr=subprocess.PIPE, text=True)
                 for ready in readies]
    try:
        deadline = time.monotonic() + 60
        while not all(ready.exists() for ready in readies) and time.monotonic() < deadline:
            time.sleep(0.01)
        go.touch()
        errors = [process.communicate(timeout=60)[1] for process in processes]
    finally:
        for process in processes:
            process.kill()
    assert [process.returncode for process in processes] == [0, 0, 0], errors
    engine = make_engine(url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_procedure_round_trip_with_channels_and_documents(session):
    procedure = Procedure(
        code="1.001193", name="Đăng ký khai sinh", levels=["Cấp xã"], aliases=["khai sinh"],
        channels=[
            ProcedureChannel(kind="truc_tiep", position=0, processing_time="Ngay trong ngày", processing_days=0, fee="Miễn lệ phí", fee_amount=0),
            ProcedureChannel(kind="truc_tuyen", position=1, processing_time="1 Ngày làm việc", processing_days=1, committed_time="4 giờ", committed_days=0.5),
        ],
        documents=[ProcedureDocument(name="Tờ khai đăng ký khai sinh", position=0, original_copies=1, copies=0)],
    )
    session.add(procedure)
    session.commit()
    session.expunge_all()
    loaded = session.scalars(select(Procedure).where(Procedure.code == "1.001193")).one()
    assert loaded.levels == ["Cấp xã"] and loaded.aliases == ["khai sinh"]
    assert [c.kind for c in loaded.channels] == ["truc_tiep", "truc_tuyen"]
    assert loaded.channels[1].committed_days == 0.5
    assert loaded.documents[0].name == "Tờ khai đăng ký khai sinh"

    session.delete(loaded)
    session.commit()
    assert session.scalars(select(ProcedureChannel)).all() == []
    assert session.scalars(select(ProcedureDocument)).all() == []


def test_procedure_code_is_unique(session):
    session.add_all([Procedure(code="1.000001", name="A", levels=[], aliases=[]), Procedure(code="1.000001", name="B", levels=[], aliases=[])])
    with pytest.raises(IntegrityError):
        session.commit()


def test_ticket_number_is_unique(session):
    session.add(Ticket(number="PA-240315-0007", kind="complaint", content="Chậm trả kết quả"))
    session.commit()
    session.add(Ticket(number="PA-240315-0007", kind="complaint", content="Lần hai"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_conversation_messages_handoff_ticket_rating_staff_audit(session):
    staff = StaffUser(username="lan", full_name="Nguyễn Thị Lan", role="operator", password_hash="argon2$...")
    conversation = Conversation(channel="telegram", sender_id="12345")
    session.add_all([staff, conversation])
    session.flush()
    session.add_all([
        Message(conversation_id=conversation.id, direction="in", author="citizen", text="cho gặp tổng đài viên", external_id="u1"),
        Message(conversation_id=conversation.id, direction="out", author="bot", text="Vui lòng chờ", payload={"buttons": []}),
        Handoff(conversation_id=conversation.id, reason="request", operator_id=staff.id, status="active", taken_at=datetime(2026, 11, 26, 9)),
        Rating(conversation_id=conversation.id, level="hai_long", factors={"cong_chuc": 5}),
        AuditLog(actor="lan", action="take", target=f"conversation:{conversation.id}"),
    ])
    ticket = Ticket(number="PA-261126-0001", kind="complaint", content="Hồ sơ trễ hạn", conversation_id=conversation.id)
    session.add(ticket)
    session.flush()
    session.add(TicketEvent(ticket_id=ticket.id, actor="lan", action="status", details={"from": "moi", "to": "dang_xu_ly"}))
    session.commit()
    session.expunge_all()

    loaded = session.scalars(select(Conversation)).one()
    assert [m.author for m in loaded.messages] == ["citizen", "bot"]
    assert loaded.messages[1].payload == {"buttons": []}
    assert session.scalars(select(Handoff)).one().operator_id == staff.id
    assert session.scalars(select(Rating)).one().factors == {"cong_chuc": 5}
    assert session.scalars(select(TicketEvent)).one().details["to"] == "dang_xu_ly"


def test_a_channel_message_id_is_stored_once_per_conversation(session):
    conversation = Conversation(channel="telegram", sender_id="1")
    session.add(conversation)
    session.flush()
    session.add_all([
        Message(conversation_id=conversation.id, direction="in", author="citizen", text="a", external_id="update-7"),
        Message(conversation_id=conversation.id, direction="in", author="citizen", text="a", external_id="update-7"),
    ])
    with pytest.raises(IntegrityError):
        session.commit()


def test_faq_versions_and_dossier(session):
    entry = FaqEntry(question="Giờ làm việc?", answer="Từ thứ Hai đến thứ Sáu", status="published")
    session.add(entry)
    session.flush()
    session.add(FaqVersion(faq_id=entry.id, version=1, snapshot={"answer": entry.answer}, author="admin"))
    session.add(Dossier(tracking_code="000.00.04.H49-261120-0012", status="dang_xu_ly", received_at=datetime(2026, 11, 20, 9), history=[{"status": "da_tiep_nhan"}], phone_last4="5678"))
    session.commit()
    assert session.scalars(select(FaqVersion)).one().snapshot == {"answer": "Từ thứ Hai đến thứ Sáu"}
    assert session.scalars(select(Dossier)).one().history == [{"status": "da_tiep_nhan"}]
