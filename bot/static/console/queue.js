"use strict";
// The live queue and the conversation panel: one WebSocket (/ws/console) for pushes and replies,
// HCC.api (CSRF) for take, transfer, notes and close. Text only ever goes in through textContent.
(function () {
  const CHANNELS = {widget: "Web", telegram: "Telegram", rest: "API", zalo: "Zalo"};
  const AUTHORS = {citizen: "Công dân", bot: "Trợ lý ảo", operator: "Tổng đài viên", system: "Thông báo"};
  let socket = null, retry = 1000, me = null;
  let queue = [], queueAt = Date.now();
  let current = null;  // the opened conversation (GET /api/console/conversations/{id})
  let lastId = 0, sentTyping = 0, typingTimer = null, clientSeq = 0;
  const $ = function (id) { return document.getElementById(id); };

  function waited(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + " giây";
    if (s < 3600) return Math.floor(s / 60) + " phút " + (s % 60) + " giây";
    return Math.floor(s / 3600) + " giờ " + Math.floor((s % 3600) / 60) + " phút";
  }

  // --- the socket ------------------------------------------------------------------------------
  function connect() {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/console";
    socket = new WebSocket(url);
    socket.onopen = function () {
      retry = 1000;
      setLink(true);
      if (current) socket.send(JSON.stringify({type: "open", conversation_id: current.id, after: lastId}));
    };
    socket.onmessage = function (event) { onFrame(JSON.parse(event.data)); };
    socket.onclose = function (event) {
      setLink(false);
      if (event.code === 4401) { location.reload(); return; }  // signed out: the shell sends us to the login page
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }

  function send(frame) {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      HCC.toast("Mất kết nối tới máy chủ; đang kết nối lại…", "error");
      return false;
    }
    socket.send(JSON.stringify(frame));
    return true;
  }

  function setLink(up) {
    const link = $("queue-link");
    link.textContent = up ? "Trực tuyến" : "Mất kết nối — đang kết nối lại…";
    link.classList.toggle("down", !up);
  }

  function onFrame(frame) {
    if (frame.type === "hello") me = frame.staff;
    else if (frame.type === "queue") { queue = frame.items; queueAt = Date.now(); renderQueue(); }
    else if (frame.type === "message") {
      if (current && frame.conversation_id === current.id && frame.id > lastId) { addMessage(frame); lastId = frame.id; }
    } else if (frame.type === "typing") {
      if (current && frame.conversation_id === current.id) $("chat-typing").hidden = !frame.on;
    } else if (frame.type === "sent") {
      $("chat-text").value = "";
      $("chat-send").disabled = false;
    } else if (frame.type === "error") {
      $("chat-send").disabled = false;
      HCC.toast(frame.text, "error");
    }
  }

  // --- the queue -------------------------------------------------------------------------------
  function renderQueue() {
    const body = $("queue-table").querySelector("tbody");
    body.replaceChildren();
    const elapsed = (Date.now() - queueAt) / 1000;
    queue.forEach(function (item) {
      const mine = me && item.operator_id === me.id;
      const status = item.status === "waiting" ? "Đang chờ" : (mine ? "Anh/chị đang xử lý" : "Đang xử lý: " + (item.operator_name || ""));
      const take = item.status === "waiting"
        ? HCC.el("button", {type: "button", class: "take", onclick: function (event) { event.stopPropagation(); takeIt(item); }}, "Nhận")
        : null;
      const row = HCC.el("tr", {"data-handoff": String(item.handoff_id), "data-conversation": String(item.conversation_id),
                                class: (item.status === "active" ? "active-row" : "") + (current && current.id === item.conversation_id ? " selected" : ""),
                                onclick: function () { openConversation(item.conversation_id); }},
        HCC.el("td", {}, item.reason_label),
        HCC.el("td", {}, CHANNELS[item.channel] || item.channel),
        HCC.el("td", {class: "wait", "data-seconds": String(item.waiting_seconds)}, waited(item.waiting_seconds + elapsed)),
        HCC.el("td", {class: "last"}, item.last_message || "—"),
        HCC.el("td", {}, status),
        HCC.el("td", {}, take));
      body.append(row);
    });
    const waiting = queue.filter(function (item) { return item.status === "waiting"; }).length;
    $("queue-count").textContent = String(waiting);
    $("queue-empty").hidden = queue.length > 0;
  }

  function tickWaits() {
    const elapsed = (Date.now() - queueAt) / 1000;
    document.querySelectorAll("#queue-table td.wait").forEach(function (cell) {
      cell.textContent = waited(Number(cell.dataset.seconds) + elapsed);
    });
  }

  function takeIt(item) {
    HCC.api("POST", "/api/console/handoffs/" + item.handoff_id + "/take").then(function () {
      HCC.toast("Đã nhận cuộc trò chuyện.", "ok");
      openConversation(item.conversation_id);
    }, function (failure) { HCC.toast(failure.message, "error"); });
  }

  // --- the conversation ------------------------------------------------------------------------
  function openConversation(id) {
    return HCC.api("GET", "/api/console/conversations/" + id).then(function (data) {
      const switching = !current || current.id !== data.id;
      current = data;
      $("chat").hidden = false;
      $("chat-log").replaceChildren();
      lastId = 0;
      data.messages.forEach(function (message) { addMessage(message); lastId = message.id; });
      renderHeader();
      renderNotes(data.notes);
      renderContext(data.context);
      if (switching) $("chat-record").hidden = true;
      send({type: "open", conversation_id: data.id, after: lastId});
      renderQueue();
    }, function (failure) { HCC.toast(failure.message, "error"); });
  }

  function renderHeader() {
    const handoff = current.handoff;
    $("chat-title").textContent = "Cuộc trò chuyện #" + current.id + " — " + (CHANNELS[current.channel] || current.channel);
    let status = "Trợ lý ảo đang trả lời";
    if (handoff && handoff.status === "waiting") status = "Đang chờ tổng đài viên (" + handoff.reason_label + ")";
    else if (handoff && handoff.status === "active") status = current.mine ? "Anh/chị đang xử lý (" + handoff.reason_label + ")" : "Đang do " + (handoff.operator_name || "tổng đài viên khác") + " xử lý";
    $("chat-status").textContent = status;
    $("chat-reply").hidden = !current.mine;
    $("chat-manage").hidden = !(handoff && handoff.status === "active" && (current.mine || (me && me.role === "admin")));
    const outcome = $("chat-outcome");
    if (outcome.options.length === 1) {
      Object.entries(current.outcomes).forEach(function ([key, label]) { outcome.append(HCC.el("option", {value: key}, label)); });
    }
  }

  function addMessage(message) {
    const item = HCC.el("li", {class: "by-" + message.author, "data-id": String(message.id)},
      HCC.el("span", {class: "meta"}, (AUTHORS[message.author] || message.author) + " · " + HCC.formatTime(message.at)),
      message.text);
    if (message.buttons && message.buttons.length) {
      item.append(HCC.el("span", {class: "choices"}, "Nút: " + message.buttons.map(function (b) { return b.title; }).join(" | ")));
    }
    const log = $("chat-log");
    log.append(item);
    log.scrollTop = log.scrollHeight;
    if (message.author === "citizen") $("chat-typing").hidden = true;
  }

  function renderNotes(notes) {
    $("chat-notes").replaceChildren.apply($("chat-notes"), notes.map(function (note) {
      return HCC.el("li", {}, HCC.formatTime(note.at) + " — " + note.author + ": " + note.text);
    }));
  }

  function renderContext(context) {
    $("chat-procedures").replaceChildren.apply($("chat-procedures"), context.procedures.map(function (p) {
      return HCC.el("li", {}, HCC.el("button", {type: "button", class: "secondary", onclick: function () { showProcedure(p.code); }},
        "Thủ tục " + p.code + ": " + p.name));
    }));
    $("chat-dossiers").replaceChildren.apply($("chat-dossiers"), context.dossiers.map(function (d) {
      return HCC.el("li", {}, HCC.el("button", {type: "button", class: "secondary", onclick: function () { showDossier(d.tracking_code); }},
        "Hồ sơ " + d.tracking_code + " (" + d.status + ")"));
    }));
    if (!context.procedures.length && !context.dossiers.length) {
      $("chat-procedures").append(HCC.el("li", {class: "muted"}, "Chưa có thủ tục hay mã hồ sơ nào trong cuộc trò chuyện."));
    }
  }

  function showRecord(lines) {
    const box = $("chat-record");
    box.textContent = lines.filter(Boolean).join("\n");
    box.hidden = false;
  }

  function showProcedure(code) {
    HCC.api("GET", "/api/console/procedures/" + encodeURIComponent(code)).then(function (p) {
      showRecord([p.name + " (mã " + p.code + ")", p.agency && "Cơ quan thực hiện: " + p.agency, p.address && "Nơi nộp: " + p.address]
        .concat((p.channels || []).map(function (c) { return "- " + c.kind + ": " + (c.processing_time || "chưa có thông tin") + "; " + (c.fee || "chưa có thông tin về phí"); }))
        .concat((p.documents || []).map(function (d, i) { return (i + 1) + ". " + d.name; })));
    }, function (failure) { HCC.toast(failure.message, "error"); });
  }

  function showDossier(code) {
    HCC.api("GET", "/api/console/dossiers/" + encodeURIComponent(code)).then(function (d) {
      showRecord(["Hồ sơ " + d.tracking_code + " — thủ tục " + d.procedure_code, "Trạng thái: " + d.status,
        d.current_step && "Bước hiện tại: " + d.current_step, d.received_at && "Tiếp nhận: " + HCC.formatTime(d.received_at),
        d.due_at && "Hẹn trả: " + HCC.formatTime(d.due_at), d.applicant_name && "Người nộp: " + d.applicant_name]);
    }, function (failure) { HCC.toast(failure.message, "error"); });
  }

  // --- the operator's actions ------------------------------------------------------------------
  function reply(event) {
    event.preventDefault();
    const text = $("chat-text").value.trim();
    if (!text || !current) return;
    clientSeq += 1;
    if (send({type: "reply", text: text, client_id: "c" + Date.now().toString(36) + "-" + clientSeq})) {
      $("chat-send").disabled = true;
      send({type: "typing", on: false});
      sentTyping = 0;
    }
  }

  function typing() {
    if (!current || !current.mine) return;
    if (Date.now() - sentTyping > 3000) { send({type: "typing", on: true}); sentTyping = Date.now(); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { send({type: "typing", on: false}); sentTyping = 0; }, 4000);
  }

  function act(path, body, done) {
    if (!current || !current.handoff) return;
    HCC.api("POST", "/api/console/handoffs/" + current.handoff.id + "/" + path, body).then(function () {
      HCC.toast(done, "ok");
      openConversation(current.id);
    }, function (failure) { HCC.toast(failure.message, "error"); });
  }

  function loadLists() {
    HCC.api("GET", "/api/console/canned-replies").then(function (data) {
      const select = $("chat-canned");
      (data.replies || []).forEach(function (r) { select.append(HCC.el("option", {value: r.text}, r.title)); });
    }, function () {});
    HCC.api("GET", "/api/console/operators").then(function (data) {
      const select = $("chat-transfer-to");
      (data.operators || []).forEach(function (o) {
        if (!me || o.id !== me.id) select.append(HCC.el("option", {value: String(o.id)}, o.full_name + " (" + o.username + ")"));
      });
    }, function () {});
  }

  document.addEventListener("DOMContentLoaded", function () {
    HCC.ready.then(function () {
      connect();
      setInterval(tickWaits, 1000);
      setInterval(function () { if (socket && socket.readyState === WebSocket.OPEN) socket.send('{"type":"ping"}'); }, 20000);
      setTimeout(loadLists, 300);
      $("chat-reply").addEventListener("submit", reply);
      $("chat-text").addEventListener("input", typing);
      $("chat-text").addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey) reply(event);
      });
      $("chat-canned").addEventListener("change", function (event) {
        if (event.target.value) { $("chat-text").value = event.target.value; $("chat-text").focus(); }
        event.target.value = "";
      });
      $("chat-transfer").addEventListener("click", function () {
        const to = Number($("chat-transfer-to").value);
        if (!to) { HCC.toast("Chọn tổng đài viên nhận cuộc trò chuyện.", "error"); return; }
        act("transfer", {to: to}, "Đã chuyển cuộc trò chuyện.");
      });
      $("chat-close").addEventListener("click", function () {
        const outcome = $("chat-outcome").value;
        if (!outcome) { HCC.toast("Chọn kết quả xử lý trước khi kết thúc.", "error"); return; }
        act("close", {outcome: outcome}, "Đã kết thúc; trợ lý ảo mời công dân đánh giá.");
      });
      $("chat-note").addEventListener("submit", function (event) {
        event.preventDefault();
        const text = $("chat-note-text").value.trim();
        if (!text) return;
        act("notes", {text: text}, "Đã lưu ghi chú.");
        $("chat-note-text").value = "";
      });
    });
  });
})();
