"""Parse-quality report: how many records came out with each part of the schema."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from knowledge_base.records import ProcedureRecord


@dataclass
class ParseQuality:
    total: int = 0
    with_channels: int = 0
    with_time: int = 0
    with_fee: int = 0
    with_documents: int = 0

    def add(self, record: ProcedureRecord) -> None:
        self.total += 1
        self.with_channels += bool(record.channels)
        self.with_time += any(c.processing_time for c in record.channels)
        self.with_fee += any(c.fee for c in record.channels)
        self.with_documents += bool(record.documents)

    def share(self, count: int) -> float:
        return count / self.total if self.total else 0.0

    def lines(self) -> list[str]:
        rows = [
            ("kênh nộp (channels)", self.with_channels),
            ("thời hạn (time)", self.with_time),
            ("phí, lệ phí (fee)", self.with_fee),
            ("thành phần hồ sơ (documents)", self.with_documents),
        ]
        return [f"{self.total} thủ tục"] + [
            f"  {label:32} {count:6} ({self.share(count):.1%})" for label, count in rows
        ]


def parse_quality(records: Iterable[ProcedureRecord]) -> ParseQuality:
    quality = ParseQuality()
    for record in records:
        quality.add(record)
    return quality
