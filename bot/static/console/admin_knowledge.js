"use strict";
// Admin: FAQ entries (edit, publish, versions, diff, roll back), catalogue upload with preview, procedure edit, exports.
(function () {
  const el = function () { return HCC.el.apply(null, arguments); };
  const $ = function (id) { return document.getElementById(id); };
  const fail = function (failure) { HCC.toast(failure.message, "error"); };
  const lines = function (text) { return text.split("\n").map(function (s) { return s.trim(); }).filter(Boolean); };
  const STATUS = {draft: "Bản nháp", published: "Đã xuất bản"};

  function faqForm() { return $("faq-form"); }

  function fill(entry) {
    const f = faqForm();
    f.id.value = entry ? entry.id : "";
    f.question.value = entry ? entry.question : "";
    f.variants.value = entry ? entry.variants.join("\n") : "";
    f.answer.value = entry ? entry.answer : "";
    f.tags.value = entry ? entry.tags.join("\n") : "";
    f.codes.value = entry ? entry.procedure_codes.join("\n") : "";
    $("faq-form-title").textContent = entry ? "Sửa câu hỏi #" + entry.id + " (phiên bản " + entry.version + ", " + STATUS[entry.status] + ")" : "Thêm câu hỏi";
    renderVersions(entry);
  }

  function renderVersions(entry) {
    const box = $("faq-versions");
    if (!entry || !entry.versions) { box.replaceChildren(); return; }
    box.replaceChildren.apply(box, entry.versions.map(function (v) {
      return el("li", {},
        "Phiên bản " + v.version + " — " + (v.author || "") + ", " + HCC.formatTime(v.created_at) + " (" + STATUS[v.snapshot.status] + ") ",
        v.version > 1 ? el("button", {type: "button", class: "secondary", onclick: function () {
          HCC.api("GET", "/api/admin/faq/" + entry.id + "/diff?from=" + (v.version - 1) + "&to=" + v.version).then(function (d) {
            $("faq-diff").replaceChildren.apply($("faq-diff"), d.changes.map(function (c) {
              return el("div", {}, el("strong", {}, c.field + ": "),
                el("span", {class: "removed"}, c.removed.map(function (s) { return "− " + s; }).join(" ")), " ",
                el("span", {class: "added"}, c.added.map(function (s) { return "+ " + s; }).join(" ")));
            }));
          }, fail);
        }}, "So với bản trước") : "",
        el("button", {type: "button", class: "secondary", onclick: function () {
          HCC.api("POST", "/api/admin/faq/" + entry.id + "/rollback", {version: v.version}).then(function (d) {
            fill(d); loadFaq(); HCC.toast("Đã khôi phục phiên bản " + v.version + ".", "ok");
          }, fail);
        }}, "Khôi phục"));
    }));
  }

  function renderFaq(data) {
    const body = document.querySelector("#faq-table tbody");
    body.replaceChildren.apply(body, data.entries.map(function (e) {
      const publish = e.status === "published" ? "unpublish" : "publish";
      return el("tr", {"data-id": e.id},
        el("td", {}, e.id), el("td", {class: "clip"}, e.question), el("td", {}, STATUS[e.status]), el("td", {}, "v" + e.version),
        el("td", {class: "actions"},
          el("button", {type: "button", class: "secondary", onclick: function () {
            HCC.api("GET", "/api/admin/faq/" + e.id).then(fill, fail);
          }}, "Sửa"),
          el("button", {type: "button", onclick: function () {
            HCC.api("POST", "/api/admin/faq/" + e.id + "/" + publish).then(function () {
              loadFaq(); HCC.toast(publish === "publish" ? "Đã xuất bản; trợ lý ảo dùng ngay." : "Đã gỡ về bản nháp.", "ok");
            }, fail);
          }}, publish === "publish" ? "Xuất bản" : "Gỡ xuống")));
    }));
  }

  function loadFaq() {
    const q = encodeURIComponent($("faq-search").value || "");
    return HCC.api("GET", "/api/admin/faq?q=" + q + "&status=" + $("faq-status").value).then(renderFaq, fail);
  }

  function saveFaq(publish) {
    const f = faqForm();
    const body = {question: f.question.value, answer: f.answer.value, variants: lines(f.variants.value),
                  tags: lines(f.tags.value), procedure_codes: lines(f.codes.value), publish: publish};
    const id = f.id.value;
    let saving = HCC.api(id ? "PUT" : "POST", "/api/admin/faq" + (id ? "/" + id : ""), body);
    if (id && publish) saving = saving.then(function () { return HCC.api("POST", "/api/admin/faq/" + id + "/publish"); });
    return saving.then(function (entry) {
      fill(entry); loadFaq(); HCC.toast(publish ? "Đã lưu và xuất bản; trợ lý ảo dùng ngay." : "Đã lưu.", "ok");
    }, fail);
  }

  function readFile() {
    const file = $("catalogue-file").files[0];
    if (!file) return Promise.reject(new Error("Vui lòng chọn tệp danh mục."));
    return new Promise(function (resolve, reject) {
      const reader = new FileReader();
      reader.onload = function () { resolve({filename: file.name, content: reader.result.split(",")[1] || "", remove_missing: $("catalogue-remove").checked}); };
      reader.onerror = function () { reject(new Error("Không đọc được tệp.")); };
      reader.readAsDataURL(file);
    });
  }

  function showPreview(d) {
    const c = d.counts;
    const list = function (title, items, extra) {
      return el("details", {open: items.length && items.length <= 20 ? "" : null}, el("summary", {}, title + ": " + items.length),
        el.apply(null, ["ul", {}].concat(items.map(function (p) { return el("li", {}, p.code + " — " + p.name + (extra ? extra(p) : "")); }))));
    };
    $("catalogue-preview").replaceChildren(
      el("p", {}, (d.applied ? "Đã nhập: " : "Xem trước (chưa ghi): ") + "mới " + c.new + ", thay đổi " + c.changed +
        ", xóa " + c.removed + ", không đổi " + c.unchanged + "; có trong danh mục nhưng không có trong tệp " + c.absent + "."),
      list("Thủ tục mới", d.new), list("Thủ tục thay đổi", d.changed, function (p) { return " (" + p.fields.join(", ") + ")"; }),
      list("Thủ tục bị xóa", d.removed));
    $("catalogue-confirm").hidden = d.applied;
  }

  function upload(endpoint) {
    $("catalogue-error").hidden = true;
    return readFile().then(function (body) { return HCC.api("POST", "/api/admin/catalogue/" + endpoint, body); }).then(function (d) {
      showPreview(d);
      if (d.applied) HCC.toast("Đã nhập danh mục; trợ lý ảo dùng ngay.", "ok");
    }, function (failure) {
      $("catalogue-preview").replaceChildren();
      $("catalogue-confirm").hidden = true;
      $("catalogue-error").textContent = failure.message;
      $("catalogue-error").hidden = false;
    });
  }

  function loadProcedure() {
    const code = $("proc-code").value.trim();
    return HCC.api("GET", "/api/admin/procedures/" + encodeURIComponent(code)).then(function (p) {
      const form = $("proc-form");
      form.address.value = p.address || "";
      const rows = p.channels.map(function (ch) {
        return el("fieldset", {"data-kind": ch.kind}, el("legend", {}, ch.kind),
          el("label", {}, "Thời hạn giải quyết", el("input", {name: "processing_time", value: ch.processing_time || ""})),
          el("label", {}, "Thời hạn Trung tâm cam kết", el("input", {name: "committed_time", value: ch.committed_time || ""})),
          el("label", {}, "Phí, lệ phí", el("input", {name: "fee", value: ch.fee || ""})));
      });
      $("proc-channels").replaceChildren.apply($("proc-channels"), rows);
      $("proc-title").textContent = p.name + " (mã " + p.code + ")";
      form.hidden = false;
    }, fail);
  }

  function saveProcedure(event) {
    event.preventDefault();
    const channels = {};
    document.querySelectorAll("#proc-channels fieldset").forEach(function (set) {
      channels[set.dataset.kind] = {processing_time: set.querySelector("[name=processing_time]").value,
                                    committed_time: set.querySelector("[name=committed_time]").value,
                                    fee: set.querySelector("[name=fee]").value};
    });
    HCC.api("PUT", "/api/admin/procedures/" + encodeURIComponent($("proc-code").value.trim()),
            {address: $("proc-form").address.value, channels: channels})
      .then(function () { HCC.toast("Đã lưu thủ tục; trợ lý ảo dùng ngay.", "ok"); }, fail);
  }

  let trainingTimer = null;
  function showTraining(data) {
    const job = data.job;
    const box = $("training-status");
    if (!job) { box.textContent = "Chưa có lần huấn luyện nào từ trang này."; return; }
    box.textContent = job.phase + " — " + job.seconds + " giây" + (job.error ? ". Lỗi: " + job.error : "") + ".";
    $("training-start").disabled = job.state === "running" || job.state === "swapping";
    clearTimeout(trainingTimer);
    if ($("training-start").disabled) trainingTimer = setTimeout(loadTraining, 2000);
  }
  function loadTraining() { return HCC.api("GET", "/api/admin/training").then(showTraining, fail); }

  document.addEventListener("DOMContentLoaded", function () {
    if (!$("faq-form")) return;
    HCC.ready.then(loadTraining);
    $("training-start").addEventListener("click", function () {
      HCC.api("POST", "/api/admin/training", {}).then(showTraining, fail);
    });
    HCC.ready.then(loadFaq);
    $("faq-search-form").addEventListener("submit", function (event) { event.preventDefault(); loadFaq(); });
    $("faq-status").addEventListener("change", loadFaq);
    $("faq-new").addEventListener("click", function () { fill(null); $("faq-question").focus(); });
    faqForm().addEventListener("submit", function (event) { event.preventDefault(); saveFaq(false); });
    $("faq-publish").addEventListener("click", function () { saveFaq(true); });
    $("catalogue-preview-button").addEventListener("click", function () { upload("preview"); });
    $("catalogue-confirm").addEventListener("click", function () { upload("import"); });
    $("proc-load").addEventListener("click", loadProcedure);
    $("proc-form").addEventListener("submit", saveProcedure);
  });
})();
