"""How dossier statuses and result deliveries read to a citizen: shared by the lookup and the notifications."""
from __future__ import annotations

STATUS_LABELS = {
    "da_tiep_nhan": "Đã tiếp nhận",
    "dang_xu_ly": "Đang giải quyết",
    "cho_bo_sung": "Chờ công dân bổ sung hồ sơ",
    "da_co_ket_qua": "Đã có kết quả, chờ trả",
    "da_tra_ket_qua": "Đã trả kết quả",
    "tu_choi": "Từ chối giải quyết",
}
DELIVERY_LABELS = {
    "quay": "nhận trực tiếp tại bộ phận một cửa",
    "buu_chinh": "trả qua dịch vụ bưu chính",
    "truc_tuyen": "trả trực tuyến qua Cổng dịch vụ công",
}
