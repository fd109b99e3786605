"""SQLAlchemy models of everything the product stores (2.0-style declarative on SQLAlchemy 1.4)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Procedure(Base):
    """Thủ tục hành chính, as published in the national catalogue and kept by the center."""

    __tablename__ = "procedures"

    id = Column(Integer, primary_key=True)
    code = Column(String(32), nullable=False, unique=True)  # mã thủ tục, e.g. 1.001193
    name = Column(Text, nullable=False)
    levels = Column(JSON, nullable=False, default=list)  # ["Cấp tỉnh", "Cấp xã"]
    field = Column(Text)  # lĩnh vực
    agency = Column(Text)  # cơ quan thực hiện
    authority = Column(Text)  # cơ quan có thẩm quyền
    address = Column(Text)  # địa chỉ tiếp nhận hồ sơ
    subjects = Column(Text)  # đối tượng thực hiện
    steps = Column(Text)
    conditions = Column(Text)
    result = Column(Text)
    legal_basis = Column(Text)
    decision_number = Column(Text)
    source_url = Column(Text)
    aliases = Column(JSON, nullable=False, default=list)
    source = Column(String(32), nullable=False, default="project")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    channels = relationship(
        "ProcedureChannel",
        order_by="ProcedureChannel.position",
        cascade="all, delete-orphan",
        back_populates="procedure",
    )
    documents = relationship(
        "ProcedureDocument",
        order_by="ProcedureDocument.position",
        cascade="all, delete-orphan",
        back_populates="procedure",
    )


class ProcedureChannel(Base):
    """One submission channel (trực tiếp / trực tuyến / bưu chính) with its time and fee."""

    __tablename__ = "procedure_channels"

    id = Column(Integer, primary_key=True)
    procedure_id = Column(ForeignKey("procedures.id", ondelete="CASCADE"), nullable=False, index=True)
    position = Column(Integer, nullable=False, default=0)
    kind = Column(String(16), nullable=False)
    processing_time = Column(Text)
    processing_days = Column(Float)
    time_unit = Column(String(32))
    committed_time = Column(Text)  # the center's reduced commitment
    committed_days = Column(Float)
    fee = Column(Text)
    fee_amount = Column(Integer)  # VND
    description = Column(Text)

    procedure = relationship("Procedure", back_populates="channels")


class ProcedureDocument(Base):
    """One paper of the dossier (thành phần hồ sơ)."""

    __tablename__ = "procedure_documents"

    id = Column(Integer, primary_key=True)
    procedure_id = Column(ForeignKey("procedures.id", ondelete="CASCADE"), nullable=False, index=True)
    position = Column(Integer, nullable=False, default=0)
    name = Column(Text, nullable=False)
    original_copies = Column(Integer)  # bản chính
    copies = Column(Integer)  # bản sao
    quantity_text = Column(Text)
    template = Column(Text)  # mẫu đơn, tờ khai

    procedure = relationship("Procedure", back_populates="documents")


class FaqEntry(Base):
    """A published (or draft) question and answer, with its variants and linked procedures."""

    __tablename__ = "faq_entries"

    id = Column(Integer, primary_key=True)
    external_id = Column(String(64), unique=True)  # portal faq_id or the project's own key
    question = Column(Text, nullable=False)
    variants = Column(JSON, nullable=False, default=list)
    answer = Column(Text, nullable=False)
    tags = Column(JSON, nullable=False, default=list)
    procedure_codes = Column(JSON, nullable=False, default=list)
    status = Column(String(16), nullable=False, default="draft")  # draft | published
    version = Column(Integer, nullable=False, default=1)
    author = Column(String(64))
    source = Column(String(32), nullable=False, default="project")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class FaqVersion(Base):
    """Every saved state of an FAQ entry, for diff and roll-back."""

    __tablename__ = "faq_versions"
    __table_args__ = (UniqueConstraint("faq_id", "version"),)

    id = Column(Integer, primary_key=True)
    faq_id = Column(ForeignKey("faq_entries.id", ondelete="CASCADE"), nullable=False, index=True)
    version = Column(Integer, nullable=False)
    snapshot = Column(JSON, nullable=False)
    author = Column(String(64))
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Dossier(Base):
    """Hồ sơ: one application, found by its tracking code; the applicant's phone only hashed."""

    __tablename__ = "dossiers"

    id = Column(Integer, primary_key=True)
    tracking_code = Column(String(40), nullable=False, unique=True)
    procedure_code = Column(String(32), index=True)
    status = Column(String(24), nullable=False)
    received_at = Column(DateTime, nullable=False)
    due_at = Column(DateTime)
    finished_at = Column(DateTime)
    current_step = Column(Text)
    history = Column(JSON, nullable=False, default=list)  # [{at, step, status}]
    applicant_name = Column(Text)
    phone_hash = Column(String(64))  # sha256(salt + digits)
    phone_last4 = Column(String(4))
    result_delivery = Column(String(16))  # quay | buu_chinh | truc_tuyen
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Conversation(Base):
    """One citizen's conversation on one channel; its state says who answers it."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "sender_id"),)

    id = Column(Integer, primary_key=True)
    channel = Column(String(16), nullable=False)  # rest | widget | telegram | zalo
    sender_id = Column(String(128), nullable=False)
    state = Column(String(16), nullable=False, default="bot")  # bot | queued | operator | closed
    assigned_to = Column(ForeignKey("staff_users.id"))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_message_at = Column(DateTime, nullable=False, default=utcnow)

    messages = relationship("Message", order_by="Message.id", back_populates="conversation")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("conversation_id", "external_id"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True)
    direction = Column(String(4), nullable=False)  # in | out
    author = Column(String(16), nullable=False)  # citizen | bot | operator | system
    text = Column(Text, nullable=False, default="")
    payload = Column(JSON)  # buttons, attachments
    external_id = Column(String(64))  # channel message id, for de-duplication
    intent = Column(String(64))
    confidence = Column(Float)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)

    conversation = relationship("Conversation", back_populates="messages")


class Handoff(Base):
    """An escalation of a conversation to hotline staff."""

    __tablename__ = "handoffs"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True)
    reason = Column(String(24), nullable=False)  # request | fallback | complaint | low_rating
    # Indexed: the console's queries every second want the few open ones among years of closed handoffs.
    status = Column(String(16), nullable=False, default="waiting", index=True)  # waiting | active | closed | callback
    operator_id = Column(ForeignKey("staff_users.id"))
    callback_phone = Column(String(20))
    outcome = Column(Text)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    taken_at = Column(DateTime)
    closed_at = Column(DateTime)
    operator_seen_at = Column(DateTime)  # the holder's console last showed it was connected (grace period)


class HandoffNote(Base):
    """An internal note on a handoff: staff only, never shown to the citizen."""

    __tablename__ = "handoff_notes"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True)
    staff_id = Column(ForeignKey("staff_users.id"), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Ticket(Base):
    """Phản ánh, kiến nghị or callback request, numbered like PA-240315-0007."""

    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    number = Column(String(24), nullable=False, unique=True)
    kind = Column(String(16), nullable=False)  # complaint | feedback | callback
    status = Column(String(16), nullable=False, default="moi")  # moi | dang_xu_ly | da_giai_quyet | tu_choi
    content = Column(Text, nullable=False)
    procedure_code = Column(String(32))
    tracking_code = Column(String(40))
    contact_name = Column(Text)
    contact_phone = Column(String(20))
    conversation_id = Column(ForeignKey("conversations.id"))
    assigned_to = Column(ForeignKey("staff_users.id"))
    due_at = Column(DateTime)
    preferred_time = Column(Text)  # callbacks: when the citizen would like to be called
    callback_outcome = Column(String(16))  # callbacks: called | unreachable
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class TicketEvent(Base):
    """One change of a ticket: who did what, when."""

    __tablename__ = "ticket_events"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    actor = Column(String(64), nullable=False)
    action = Column(String(32), nullable=False)
    details = Column(JSON)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Rating(Base):
    """Mức độ hài lòng on the national 3-level scale, with optional SIPAS factors (1–5)."""

    __tablename__ = "ratings"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(ForeignKey("conversations.id"))
    level = Column(String(20), nullable=False)  # rat_hai_long | hai_long | khong_hai_long
    factors = Column(JSON)  # {"tiep_can": 4, "thu_tuc": 5, ...}
    comment = Column(Text)
    tracking_code = Column(String(40))
    procedure_code = Column(String(32))
    created_at = Column(DateTime, nullable=False, default=utcnow)


class StaffUser(Base):
    __tablename__ = "staff_users"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    full_name = Column(Text, nullable=False)
    role = Column(String(16), nullable=False)  # operator | admin
    password_hash = Column(Text, nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class StaffSession(Base):
    """A signed-in staff browser: only the token's hash is stored, so a leaked table opens no session."""

    __tablename__ = "staff_sessions"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    staff_id = Column(ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    client = Column(String(64))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_seen_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)


class CannedReply(Base):
    """A ready-made operator reply, managed by administrators."""

    __tablename__ = "canned_replies"

    id = Column(Integer, primary_key=True)
    title = Column(String(120), nullable=False)
    text = Column(Text, nullable=False)
    position = Column(Integer, nullable=False, default=0)
    updated_by = Column(String(64))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    actor = Column(String(64), nullable=False)
    action = Column(String(48), nullable=False)
    target = Column(String(128))
    details = Column(JSON)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)


class KbRevision(Base):
    """A counter per kind of knowledge ("catalogue", "faq"), bumped with every change, so processes know to rebuild."""

    __tablename__ = "kb_revisions"

    kind = Column(String(16), primary_key=True)
    number = Column(Integer, nullable=False, default=0)
    changed_at = Column(DateTime, nullable=False, default=utcnow)


class LearningItem(Base):
    """A turn the bot did not handle well (fallback, weak match, bad rating, escalation), until an admin resolves it."""

    __tablename__ = "learning_items"
    __table_args__ = (UniqueConstraint("kind", "source_id"),)

    id = Column(Integer, primary_key=True)
    kind = Column(String(16), nullable=False, index=True)  # fallback | out_of_scope | low_confidence | not_found | low_rating | escalation
    text = Column(Text, nullable=False)
    conversation_id = Column(ForeignKey("conversations.id", ondelete="SET NULL"), index=True)
    source_id = Column(Integer)  # the Rating or Handoff it was taken from (low_rating, escalation)
    intent = Column(String(64))  # NLU's best guess, when known
    confidence = Column(Float)
    status = Column(String(16), nullable=False, default="open", index=True)  # open | resolved
    resolution = Column(String(16))  # faq | training | alias | dismissed
    resolution_target = Column(String(128))  # FAQ id, intent name or procedure code
    resolved_by = Column(String(64))
    resolved_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)


class DossierSubscription(Base):
    """A citizen's wish to hear about a dossier's status changes on their channel (after the phone check)."""

    __tablename__ = "dossier_subscriptions"
    __table_args__ = (UniqueConstraint("tracking_code", "channel", "sender_id"),)

    id = Column(Integer, primary_key=True)
    tracking_code = Column(String(40), nullable=False, index=True)
    channel = Column(String(16), nullable=False)
    sender_id = Column(String(128), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    last_status = Column(String(24), nullable=False)  # the status the citizen last knew of (at subscription or notification)
    last_status_at = Column(DateTime, nullable=False, default=utcnow)  # as of when: an older reading of the dossier is stale
    changes = Column(Integer, nullable=False, default=0)  # status changes recorded so far: numbers each change
    created_at = Column(DateTime, nullable=False, default=utcnow)
    ended_at = Column(DateTime)


class DossierNotification(Base):
    """Outbox: one message per subscription and status change, sent by the gateway's notifier."""

    __tablename__ = "dossier_notifications"
    __table_args__ = (UniqueConstraint("subscription_id", "change"),)

    id = Column(Integer, primary_key=True)
    subscription_id = Column(ForeignKey("dossier_subscriptions.id", ondelete="CASCADE"), nullable=False)
    change = Column(Integer, nullable=False)  # the subscription's change number: a change is recorded once
    status = Column(String(24), nullable=False)
    text = Column(Text, nullable=False)
    state = Column(String(16), nullable=False, default="pending", index=True)  # pending | sent | failed | cancelled
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow)
    last_error = Column(String(200))
    message_id = Column(ForeignKey("messages.id", ondelete="SET NULL"))  # the stored copy in the conversation
    created_at = Column(DateTime, nullable=False, default=utcnow)
    sent_at = Column(DateTime)
