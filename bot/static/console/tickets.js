"use strict";
// "Phản ánh": the filtered ticket list (overdue highlighted) and one ticket's workflow, notes, reply, history.
(function () {
  const el = function () { return HCC.el.apply(null, arguments); };
  let current = null;  // number of the ticket open in the detail panel
  let operators = [];

  function filters() {
    const form = document.getElementById("ticket-filters");
    const params = new URLSearchParams();
    ["status", "kind", "assigned"].forEach(function (name) { if (form[name].value) params.set(name, form[name].value); });
    if (form.overdue.checked) params.set("overdue", "1");
    return params.toString();
  }

  function load() {
    return HCC.api("GET", "/api/console/tickets?" + filters()).then(function (data) {
      const body = document.querySelector("#ticket-table tbody");
      body.replaceChildren.apply(body, data.tickets.map(row));
      document.getElementById("ticket-empty").hidden = data.tickets.length > 0;
    }, function (failure) { HCC.toast(failure.message, "error"); });
  }

  function row(ticket) {
    return el("tr", {class: (ticket.overdue ? "overdue " : "") + (ticket.number === current ? "selected" : ""),
                     "data-number": ticket.number, tabindex: "0", onclick: function () { open(ticket.number); },
                     onkeydown: function (e) { if (e.key === "Enter") open(ticket.number); }},
      el("td", {}, ticket.number),
      el("td", {}, ticket.kind_label),
      el("td", {class: "clip"}, ticket.content),
      el("td", {}, el("span", {class: "status status-" + ticket.status}, ticket.status_label)),
      el("td", {}, HCC.formatTime(ticket.due_at), ticket.overdue ? el("span", {class: "badge danger"}, "Quá hạn") : null),
      el("td", {}, ticket.assigned_name || "—"));
  }

  function open(number) {
    current = number;
    return HCC.api("GET", "/api/console/tickets/" + encodeURIComponent(number)).then(render,
      function (failure) { HCC.toast(failure.message, "error"); });
  }

  function act(path, body, done) {
    return HCC.api("POST", "/api/console/tickets/" + encodeURIComponent(current) + path, body).then(function (data) {
      render(data);
      load();
      HCC.toast(done, "ok");
      return data;
    }, function (failure) { HCC.toast(failure.message, "error"); });
  }

  function field(label, value) {
    return value ? el("div", {class: "field"}, el("span", {class: "muted"}, label + ": "), value) : null;
  }

  function render(data) {
    const t = data.ticket;
    const panel = document.getElementById("ticket-detail");
    const note = el("textarea", {id: "status-note", rows: "2", placeholder: "Ghi chú khi đổi trạng thái (bắt buộc khi từ chối)"});
    const statusButtons = t.next_statuses.map(function (next) {
      return el("button", {type: "button", class: next.status === "tu_choi" ? "danger" : "", "data-status": next.status,
        onclick: function () { act("/status", {status: next.status, note: note.value}, "Đã chuyển sang «" + next.label + "».") }},
        next.label);
    });
    const assignee = el("select", {id: "assign-to"}, el("option", {value: ""}, "— Chưa phân công —"),
      ...operators.map(function (o) { return el("option", {value: o.username, selected: o.username === t.assigned_to}, o.full_name + " (" + o.username + ")"); }));
    const noteText = el("textarea", {id: "note-text", rows: "2", placeholder: "Ghi chú nội bộ (công dân không thấy)"});
    const replyText = el("textarea", {id: "reply-text", rows: "3", placeholder: "Nội dung trả lời công dân"});
    panel.replaceChildren(
      el("h3", {}, t.kind_label + " " + t.number),
      el("p", {}, el("span", {class: "status status-" + t.status}, t.status_label), " ",
        t.overdue ? el("span", {class: "badge danger"}, "Quá hạn") : null),
      el("p", {class: "content"}, t.content),
      field("Hạn trả lời", HCC.formatTime(t.due_at)),
      field("Người phản ánh", [t.contact_name, t.contact_phone].filter(Boolean).join(" · ")),
      field("Mã hồ sơ", t.tracking_code), field("Mã thủ tục", t.procedure_code),
      field("Kênh", t.channel), field("Tiếp nhận", HCC.formatTime(t.created_at)),
      statusButtons.length ? el("div", {class: "block"}, el("h4", {}, "Trạng thái"), note, el("div", {class: "actions"}, ...statusButtons)) : null,
      el("div", {class: "block"}, el("h4", {}, "Phân công"), assignee,
        el("button", {type: "button", id: "assign-save", onclick: function () { act("/assign", {username: assignee.value || null}, "Đã cập nhật phân công."); }}, "Phân công")),
      el("div", {class: "block"}, el("h4", {}, "Ghi chú nội bộ"), noteText,
        el("button", {type: "button", id: "note-save", class: "secondary", onclick: function () { act("/notes", {text: noteText.value}, "Đã thêm ghi chú."); }}, "Thêm ghi chú")),
      t.can_reply ? el("div", {class: "block"}, el("h4", {}, "Trả lời công dân"), replyText,
        el("button", {type: "button", id: "reply-send", onclick: function () {
          act("/reply", {text: replyText.value}, "Đã gửi trả lời cho công dân.");
        }}, "Gửi cho công dân")) : el("p", {class: "muted"}, "Phản ánh không gắn với cuộc trò chuyện nào; vui lòng liên hệ qua điện thoại."),
      el("div", {class: "block"}, el("h4", {}, "Lịch sử xử lý"),
        el("ol", {class: "history", id: "ticket-history"}, ...data.history.map(function (event) {
          return el("li", {}, el("span", {class: "muted"}, HCC.formatTime(event.at) + " · " + event.actor_name + ": "), event.text);
        }))),
      data.transcript.length ? el("div", {class: "block"}, el("h4", {}, "Tin nhắn gần đây của cuộc trò chuyện"),
        el("ol", {class: "transcript"}, ...data.transcript.map(function (m) {
          return el("li", {class: "from-" + m.author}, el("span", {class: "muted"}, HCC.formatTime(m.at) + " · " + m.author + ": "), m.text);
        }))) : null);
    panel.hidden = false;
    document.querySelectorAll("#ticket-table tbody tr").forEach(function (tr) { tr.classList.toggle("selected", tr.dataset.number === current); });
  }

  document.addEventListener("hcc:view", function (event) {
    if (event.detail.view !== "tickets") return;
    HCC.api("GET", "/api/console/operators").then(function (data) { operators = data.operators; }).catch(function () {});
    load();
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.getElementById("ticket-filters").addEventListener("change", load);
  });
})();
