"use strict";
// "Gọi lại": callback requests with the phone, preferred time and reason; mark called / not reachable.
(function () {
  const el = function () { return HCC.el.apply(null, arguments); };
  const OPEN = ["moi", "dang_xu_ly"];

  function load() {
    const show = document.getElementById("callback-filters").show.value;
    const query = {open: "?status=open", done: "?status=closed", all: ""}[show];
    return HCC.api("GET", "/api/console/callbacks" + query).then(function (data) {
      const rows = data.tickets;
      const body = document.querySelector("#callback-table tbody");
      body.replaceChildren.apply(body, rows.map(row));
      document.getElementById("callback-empty").hidden = rows.length > 0;
    }, function (failure) { HCC.toast(failure.message, "error"); });
  }

  function mark(ticket, outcome, note) {
    return HCC.api("POST", "/api/console/callbacks/" + encodeURIComponent(ticket.number) + "/outcome", {outcome: outcome, note: note})
      .then(function () { HCC.toast(outcome === "called" ? "Đã ghi nhận: đã gọi." : "Đã ghi nhận: không liên lạc được.", "ok"); load(); },
            function (failure) { HCC.toast(failure.message, "error"); });
  }

  function row(ticket) {
    const open = OPEN.indexOf(ticket.status) >= 0;
    const note = el("input", {class: "callback-note", placeholder: "Ghi chú cuộc gọi"});
    return el("tr", {"data-number": ticket.number, class: ticket.overdue ? "overdue" : ""},
      el("td", {}, ticket.number),
      el("td", {}, el("a", {href: "tel:" + (ticket.contact_phone || "")}, ticket.contact_phone || "—")),
      el("td", {}, ticket.preferred_time || "Sớm nhất có thể"),
      el("td", {class: "clip"}, ticket.content),
      el("td", {}, el("span", {class: "status status-" + ticket.status}, ticket.status_label)),
      el("td", {}, ticket.callback_outcome_label || "—"),
      el("td", {class: "actions"}, ...(open ? [note,
        el("button", {type: "button", class: "mark-called", onclick: function () { mark(ticket, "called", note.value); }}, "Đã gọi"),
        el("button", {type: "button", class: "secondary mark-unreachable", onclick: function () { mark(ticket, "unreachable", note.value); }}, "Không liên lạc được")] : [])));
  }

  document.addEventListener("hcc:view", function (event) { if (event.detail.view === "callbacks") load(); });
  document.addEventListener("DOMContentLoaded", function () {
    document.getElementById("callback-filters").addEventListener("change", load);
  });
})();
