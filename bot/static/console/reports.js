"use strict";
// Reports: the period's headline figures, and each chart (a server-drawn SVG) with its CSV export.
(function () {
  const el = function () { return HCC.el.apply(null, arguments); };

  function iso(d) {  // the local day, as the center reads it
    const two = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate());
  }

  function number(value, unit) { return value === null || value === undefined ? "—" : value + (unit || ""); }

  function render(data, query) {
    const t = data.tickets, r = data.response;
    const facts = [
      ["Cuộc trò chuyện", data.conversations], ["Tin nhắn", data.messages],
      ["Trợ lý ảo tự trả lời", data.answered_by_bot], ["Chuyển tổng đài viên", data.escalated],
      ["Chỉ số hài lòng", number(data.satisfaction_index, "%") + " (" + data.ratings + " lượt đánh giá)"],
      ["Phản ánh tiếp nhận / đã giải quyết / quá hạn", t.opened + " / " + t.resolved + " / " + t.overdue],
      ["Trung vị thời gian giải quyết", number(t.median_resolution_hours, " giờ")],
      ["Trung vị thời gian chờ tổng đài viên", number(r.median_seconds, " giây") + " (" + r.taken + "/" + r.handoffs + " yêu cầu đã nhận)"],
    ];
    const summary = document.getElementById("report-summary");
    summary.replaceChildren.apply(summary, facts.flatMap(function (f) { return [el("dt", {}, f[0]), el("dd", {}, String(f[1]))]; }));
    const box = document.getElementById("report-charts");
    box.replaceChildren.apply(box, data.charts.map(function (chart) {
      return el("figure", {class: "card chart", "data-chart": chart.name},
        el("img", {src: "/admin/reports/charts/" + chart.name + ".svg?" + query, alt: chart.title, width: "720", loading: "lazy"}),
        el("figcaption", {}, chart.title + " — ",
          el("a", {href: "/admin/reports/csv/" + chart.name + ".csv?" + query, download: ""}, "Tải CSV")));
    }));
  }

  function load() {
    const f = document.getElementById("period-form");
    const query = new URLSearchParams({from: f.from.value, to: f.to.value}).toString();
    return HCC.api("GET", "/api/admin/reports?" + query).then(function (data) { render(data, query); },
      function (failure) { HCC.toast(failure.message, "error"); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const f = document.getElementById("period-form");
    const today = new Date();
    f.to.value = iso(today);
    f.from.value = iso(new Date(today.getTime() - 6 * 86400000));
    HCC.ready.then(load);
    f.addEventListener("submit", function (event) { event.preventDefault(); load(); });
  });
})();
