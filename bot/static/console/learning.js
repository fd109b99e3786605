"use strict";
// Admin: the learning inbox — groups of similar things the bot did not handle well, and what to do with them.
(function () {
  const el = function () { return HCC.el.apply(null, arguments); };
  let intents = [];

  function act(action, group, extra) {
    const body = Object.assign({ids: group.items.map(function (item) { return item.id; })}, extra || {});
    return HCC.api("POST", "/api/admin/learning/" + action, body).then(function (done) {
      HCC.toast(done.message, "ok");
      return load();
    }, function (failure) { HCC.toast(failure.message, "error"); });
  }

  function renderGroup(group, kinds) {
    const labels = Object.entries(group.kinds).map(function ([kind, n]) { return (kinds[kind] || kind) + ": " + n; }).join(" · ");
    const others = group.items.slice(1).map(function (item) { return item.text; })
      .filter(function (text, i, all) { return text !== group.text && all.indexOf(text) === i; });
    const intent = el("select", {"aria-label": "Ý định"},
      el("option", {value: ""}, "— chọn ý định —"),
      ...intents.map(function (name) { return el("option", {value: name, selected: name === group.intent}, name); }));
    const code = el("input", {placeholder: "Mã thủ tục, ví dụ 1.001193", "aria-label": "Mã thủ tục", size: "22"});
    return el("article", {class: "card learning-group", "data-key": group.key},
      el("div", {}, el("span", {class: "count", title: "Số lần"}, "×" + group.count), el("q", {class: "text"}, group.text)),
      el("div", {class: "muted"}, labels + " — mới nhất " + HCC.formatTime(group.latest_at)),
      others.length ? el("div", {class: "variants"}, "Cách hỏi khác: " + others.slice(0, 5).join(" | ")) : null,
      el("div", {class: "tools"},
        el("button", {type: "button", onclick: function () { act("faq", group); }}, "Tạo câu hỏi thường gặp"),
        intent,
        el("button", {type: "button", class: "secondary", onclick: function () { act("training", group, {intent: intent.value}); }}, "Thêm câu huấn luyện"),
        code,
        el("button", {type: "button", class: "secondary", onclick: function () { act("alias", group, {code: code.value}); }}, "Gắn vào thủ tục"),
        el("button", {type: "button", class: "danger", onclick: function () { act("dismiss", group); }}, "Bỏ qua")));
  }

  function render(data) {
    intents = data.intents;
    const filter = document.getElementById("learning-kind");
    if (filter.options.length === 1) {
      Object.entries(data.kinds).forEach(function ([kind, label]) { filter.append(el("option", {value: kind}, label)); });
    }
    const list = document.getElementById("learning-list");
    document.getElementById("learning-total").textContent = data.total + " mục, " + data.groups.length + " nhóm";
    list.replaceChildren.apply(list, data.groups.length ? data.groups.map(function (g) { return renderGroup(g, data.kinds); })
      : [el("p", {class: "muted"}, "Không còn mục nào cần xem.")]);
  }

  function load() {
    const kind = document.getElementById("learning-kind").value;
    return HCC.api("GET", "/api/admin/learning" + (kind ? "?kind=" + encodeURIComponent(kind) : "")).then(render,
      function (failure) { HCC.toast(failure.message, "error"); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    HCC.ready.then(load);
    document.getElementById("learning-kind").addEventListener("change", load);
  });
})();
