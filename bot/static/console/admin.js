"use strict";
// Admin: canned replies — list, add, edit, delete.
(function () {
  const el = function () { return HCC.el.apply(null, arguments); };
  const form = function () { return document.getElementById("canned-form"); };

  function reset() {
    const f = form();
    f.reset();
    f.id.value = "";
    document.getElementById("canned-form-title").textContent = "Thêm câu trả lời mẫu";
  }

  function render(data) {
    const body = document.querySelector("#canned-table tbody");
    body.replaceChildren.apply(body, data.replies.map(function (reply) {
      return el("tr", {"data-id": reply.id},
        el("td", {}, reply.position), el("td", {}, reply.title), el("td", {class: "clip"}, reply.text),
        el("td", {class: "actions"},
          el("button", {type: "button", class: "secondary", onclick: function () {
            const f = form();
            f.id.value = reply.id; f.title.value = reply.title; f.text.value = reply.text; f.position.value = reply.position;
            document.getElementById("canned-form-title").textContent = "Sửa câu trả lời mẫu";
            f.title.focus();
          }}, "Sửa"),
          el("button", {type: "button", class: "danger", onclick: function () {
            if (!confirm("Xóa câu trả lời mẫu «" + reply.title + "»?")) return;
            HCC.api("DELETE", "/api/admin/canned-replies/" + reply.id).then(function (d) { render(d); HCC.toast("Đã xóa.", "ok"); },
              function (failure) { HCC.toast(failure.message, "error"); });
          }}, "Xóa")));
    }));
  }

  function load() {
    return HCC.api("GET", "/api/admin/canned-replies").then(render, function (failure) { HCC.toast(failure.message, "error"); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    HCC.ready.then(load);
    document.getElementById("canned-cancel").addEventListener("click", reset);
    form().addEventListener("submit", function (event) {
      event.preventDefault();
      const f = form();
      const id = f.id.value;
      const body = {title: f.title.value, text: f.text.value, position: Number(f.position.value || 0)};
      HCC.api(id ? "PUT" : "POST", "/api/admin/canned-replies" + (id ? "/" + id : ""), body)
        .then(function () { reset(); load(); HCC.toast("Đã lưu câu trả lời mẫu.", "ok"); },
              function (failure) { HCC.toast(failure.message, "error"); });
    });
  });
})();
