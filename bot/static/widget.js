/* Trợ lý HCC — web chat widget (Zalo style). One tag embeds it:
 *   <script src="https://HOST/widget.js" data-title="..." data-color="#0068ff" async></script>
 * Attributes: data-title (header name; default: the center's name from the server), data-color (header and
 * accent colour), data-avatar (image URL), data-open="true" (start opened), data-mode="page" (fill the page).
 * Plain JS, no dependencies. Every text from the server or the user is put in the page with textContent. */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.__hccWidget) { return; }
  window.__hccWidget = true;

  var origin = new URL(script.src, location.href);
  var data = script.dataset;
  var config = {
    title: data.title || "",
    color: data.color || "",
    avatar: data.avatar || new URL("/widget/avatar.svg", origin).href,
    page: data.mode === "page",
    open: data.open === "true" || data.mode === "page",
    socketUrl: (origin.protocol === "https:" ? "wss://" : "ws://") + origin.host + "/ws/widget",
    styleUrl: new URL("/widget/widget.css", origin).href
  };
  var STORE_KEY = "hcc-widget:conversation";
  var AUTHORS = { bot: "Trợ lý ảo", operator: "Tổng đài viên", system: "Thông báo" };

  // ---- conversation id: random, kept in localStorage so a reload continues the conversation ----
  function randomId(bytes) {
    var raw = new Uint8Array(bytes);
    (window.crypto || window.msCrypto).getRandomValues(raw);
    var text = "";
    for (var i = 0; i < raw.length; i++) { text += String.fromCharCode(raw[i]); }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function conversationId() {
    var id = null;
    try { id = localStorage.getItem(STORE_KEY); } catch (e) { /* storage blocked: this tab only */ }
    if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) {
      id = randomId(18);
      try { localStorage.setItem(STORE_KEY, id); } catch (e) { /* ignore */ }
    }
    return id;
  }

  // ---- DOM helpers: elements are built, never parsed from strings ----
  function el(tag, className, attrs) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (attrs) { for (var name in attrs) { node.setAttribute(name, attrs[name]); } }
    return node;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function timeLabel(iso) {
    var at = iso ? new Date(iso) : new Date();
    if (isNaN(at.getTime())) { at = new Date(); }
    var now = new Date();
    var clock = pad(at.getHours()) + ":" + pad(at.getMinutes());
    if (at.toDateString() === now.toDateString()) { return clock; }
    return pad(at.getDate()) + "/" + pad(at.getMonth() + 1) + " " + clock;
  }

  // Text with its http(s) links made clickable; each piece is a text node or an <a> with textContent.
  function richText(target, text) {
    var pattern = /https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)]/g;
    var last = 0, match;
    while ((match = pattern.exec(text)) !== null) {
      target.appendChild(document.createTextNode(text.slice(last, match.index)));
      var link = el("a", null, { href: match[0], target: "_blank", rel: "noopener noreferrer" });
      link.textContent = match[0];
      target.appendChild(link);
      last = match.index + match[0].length;
    }
    target.appendChild(document.createTextNode(text.slice(last)));
  }

  // ---- the widget ----
  var host = el("div", null, { id: "hcc-widget" });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var style = el("link", null, { rel: "stylesheet", href: config.styleUrl });
  root.appendChild(style);

  var frame = el("div", "hcc" + (config.page ? " hcc--page" : ""));
  if (config.color) { frame.style.setProperty("--hcc-color", config.color); }
  root.appendChild(frame);

  var launcher = el("button", "hcc-launcher", { type: "button", "aria-label": "Mở cửa sổ trò chuyện", "aria-expanded": "false", "aria-controls": "hcc-panel" });
  launcher.appendChild(el("span", "hcc-launcher-icon", { "aria-hidden": "true" }));
  var unread = el("span", "hcc-unread", { "aria-hidden": "true" });
  unread.hidden = true;
  launcher.appendChild(unread);

  var panel = el("section", "hcc-panel", { id: "hcc-panel", role: "dialog", "aria-modal": "false" });
  var header = el("header", "hcc-header");
  var avatar = el("img", "hcc-avatar", { src: config.avatar, alt: "", width: "40", height: "40" });
  var heading = el("div", "hcc-heading");
  var title = el("h2", "hcc-title");
  var status = el("div", "hcc-status", { role: "status" });
  heading.appendChild(title);
  heading.appendChild(status);
  header.appendChild(avatar);
  header.appendChild(heading);
  var close = el("button", "hcc-close", { type: "button", "aria-label": "Thu nhỏ cửa sổ trò chuyện" });
  close.textContent = "\u2715";
  if (!config.page) { header.appendChild(close); }

  var log = el("ol", "hcc-log", { role: "log", "aria-live": "polite", "aria-label": "Tin nhắn", tabindex: "0" });
  var typing = el("div", "hcc-typing", { "aria-live": "polite" });
  typing.appendChild(el("span", "hcc-dot", { "aria-hidden": "true" }));
  typing.appendChild(el("span", "hcc-dot", { "aria-hidden": "true" }));
  typing.appendChild(el("span", "hcc-dot", { "aria-hidden": "true" }));
  var typingText = el("span", "hcc-sr");
  typingText.textContent = "Đang soạn câu trả lời…";
  typing.appendChild(typingText);
  typing.hidden = true;

  var form = el("form", "hcc-composer");
  var input = el("textarea", "hcc-input", { rows: "1", placeholder: "Nhập tin nhắn…", "aria-label": "Nhập tin nhắn", enterkeyhint: "send" });
  var send = el("button", "hcc-send", { type: "submit", "aria-label": "Gửi tin nhắn" });
  send.appendChild(el("span", "hcc-send-icon", { "aria-hidden": "true" }));
  form.appendChild(input);
  form.appendChild(send);

  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(form);
  if (!config.page) { frame.appendChild(launcher); }
  frame.appendChild(panel);

  function setTitle(text) {
    title.textContent = text || "Trợ lý ảo hành chính công";
    panel.setAttribute("aria-label", "Trò chuyện với " + title.textContent);
  }
  setTitle(config.title);

  // ---- state ----
  var conversation = conversationId();
  var lastId = 0;
  var rendered = {};          // message id → true
  var pending = {};           // client_id → {text, node}
  var titles = {};            // button payload → title, so a sent payload shows as the button's title
  var socket = null, ready = false, retries = 0, retryTimer = null, pingTimer = null, pongTimer = null;
  var isOpen = false, greeted = false, lastAuthor = null;

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function bubble(author, text, at, statusText) {
    var incoming = author !== "citizen";
    var item = el("li", "hcc-msg hcc-msg--" + (incoming ? "in" : "out") + " hcc-by-" + author);
    if (incoming && lastAuthor !== author) {
      var who = el("div", "hcc-who");
      who.textContent = AUTHORS[author] || AUTHORS.bot;
      item.appendChild(who);
    }
    lastAuthor = author;
    var body = el("div", "hcc-bubble");
    var content = el("div", "hcc-text");
    richText(content, text);
    var time = el("div", "hcc-time");
    time.textContent = statusText || timeLabel(at);
    body.appendChild(content);
    body.appendChild(time);
    item.appendChild(body);
    log.appendChild(item);
    return item;
  }

  function buttonsFor(item, buttons) {
    if (!buttons || !buttons.length) { return; }
    var group = el("div", "hcc-quick", { role: "group", "aria-label": "Lựa chọn trả lời nhanh" });
    buttons.forEach(function (button) {
      var label = String(button.title || button.payload || "");
      var payload = String(button.payload || button.title || "");
      if (!payload) { return; }
      titles[payload] = label;
      var node = el("button", "hcc-chip", { type: "button" });
      node.textContent = label;
      node.addEventListener("click", function () { submit(payload, label); });
      group.appendChild(node);
    });
    item.appendChild(group);
  }

  function showMessage(message) {
    if (message.id != null) {
      if (rendered[message.id]) { return; }
      rendered[message.id] = true;
      if (message.id > lastId) { lastId = message.id; }
    }
    var mine = message.client_id && pending[message.client_id];
    if (mine) {  // our own message, now stored: the pending bubble gets its time
      mine.node.querySelector(".hcc-time").textContent = timeLabel(message.at);
      mine.node.classList.remove("hcc-pending", "hcc-failed");
      var retry = mine.node.querySelector(".hcc-retry");
      if (retry) { retry.remove(); }
      delete pending[message.client_id];
      return;
    }
    var shown = message.author === "citizen" && titles[message.text] ? titles[message.text] : message.text;
    var item = bubble(message.author, shown || "", message.at);
    buttonsFor(item, message.buttons);
    if (message.author !== "citizen") {
      typing.hidden = true;
      if (!isOpen) { unread.hidden = false; }
    }
    scrollDown();
  }

  function notice(text) {
    var item = el("li", "hcc-notice", { role: "note" });
    item.textContent = text;
    log.appendChild(item);
    lastAuthor = null;
    scrollDown();
  }

  function greet(center) {
    if (greeted || lastId > 0) { return; }
    greeted = true;
    var item = bubble("bot", "Xin chào! Tôi là trợ lý ảo của " + (center || "Trung tâm Phục vụ hành chính công") +
      ". Anh/chị cần hỏi về thủ tục, giấy tờ, lệ phí hay tra cứu hồ sơ? Hãy nhập câu hỏi bên dưới.", null);
    item.classList.add("hcc-greeting");
  }

  function markFailed(clientId, reason) {
    var mine = pending[clientId];
    if (!mine) { return; }
    mine.node.classList.remove("hcc-pending");
    mine.node.classList.add("hcc-failed");
    mine.node.querySelector(".hcc-time").textContent = "Chưa gửi được";
    if (reason) { notice(reason); }
    if (!mine.node.querySelector(".hcc-retry")) {
      var retry = el("button", "hcc-retry", { type: "button", "aria-label": "Gửi lại tin nhắn này" });
      retry.textContent = "Gửi lại";
      retry.addEventListener("click", function () {
        mine.node.classList.remove("hcc-failed");
        mine.node.classList.add("hcc-pending");
        mine.node.querySelector(".hcc-time").textContent = "Đang gửi…";
        retry.remove();
        mine.failed = false;
        transmit(clientId);
      });
      mine.node.appendChild(retry);
    }
    mine.failed = true;
  }

  // ---- sending: shown at once, kept until the server has stored it (resent after a reconnect) ----
  function submit(text, label) {
    text = String(text || "").trim();
    if (!text) { return; }
    var clientId = randomId(12);
    var node = bubble("citizen", label || text, null, "Đang gửi…");
    node.classList.add("hcc-pending");
    pending[clientId] = { text: text, node: node, failed: false };
    scrollDown();
    transmit(clientId);
  }

  function transmit(clientId) {
    var mine = pending[clientId];
    if (!mine || mine.failed || !ready) { return; }  // sent on the next "ready"
    socket.send(JSON.stringify({ type: "message", text: mine.text, client_id: clientId }));
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) { return; }
    input.value = "";
    grow();
    submit(text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }
  input.addEventListener("input", grow);

  // The operator sees that the citizen is typing: on at most every 3 s, off after 4 s idle or on send.
  var typingSentAt = 0, typingIdle = null;
  function sendTyping(on) {
    if (!ready) { return; }
    socket.send(JSON.stringify({ type: "typing", on: on }));
    typingSentAt = on ? Date.now() : 0;
  }
  input.addEventListener("input", function () {
    if (!input.value.trim()) { return; }
    if (Date.now() - typingSentAt > 3000) { sendTyping(true); }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(function () { sendTyping(false); }, 4000);
  });
  form.addEventListener("submit", function () { clearTimeout(typingIdle); if (typingSentAt) { sendTyping(false); } });

  // ---- the socket: hello with the last id seen, so a reconnect brings what was missed ----
  function setStatus(text, offline) {
    status.textContent = text;
    frame.classList.toggle("hcc--offline", !!offline);
  }

  function connect() {
    clearTimeout(retryTimer);
    setStatus("Đang kết nối…", true);
    try {
      socket = new WebSocket(config.socketUrl);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "hello", conversation: conversation, after: lastId }));
      pingTimer = setInterval(ping, 25000);
    };
    socket.onmessage = function (event) {
      clearTimeout(pongTimer);
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      receive(message);
    };
    socket.onclose = function () {
      ready = false;
      clearInterval(pingTimer);
      clearTimeout(pongTimer);
      typing.hidden = true;
      scheduleReconnect();
    };
    socket.onerror = function () { /* onclose follows */ };
  }

  function ping() {
    if (!socket || socket.readyState !== 1) { return; }
    socket.send(JSON.stringify({ type: "ping" }));
    // No answer in 10 s: the network dropped without the socket noticing; start over.
    pongTimer = setTimeout(function () { socket.close(); }, 10000);
  }

  function scheduleReconnect() {
    clearTimeout(retryTimer);
    var delay = Math.min(30000, 1000 * Math.pow(2, retries)) * (0.75 + Math.random() * 0.5);
    retries += 1;
    setStatus("Mất kết nối — đang thử lại sau " + Math.max(1, Math.round(delay / 1000)) + " giây…", true);
    retryTimer = setTimeout(connect, delay);
  }

  window.addEventListener("online", function () {
    if (!socket || socket.readyState > 1) { retries = 0; connect(); }
  });

  function receive(message) {
    if (message.type === "message") {
      showMessage(message);
    } else if (message.type === "ready") {
      ready = true;
      retries = 0;
      if (!config.title) { setTitle(message.center); }
      setStatus("Trợ lý ảo · Thường trả lời ngay", false);
      greet(title.textContent);
      Object.keys(pending).forEach(transmit);
    } else if (message.type === "typing") {
      typing.hidden = !message.on;
      if (message.on) { scrollDown(); }
    } else if (message.type === "error") {
      if (message.client_id) { markFailed(message.client_id, message.text); } else { notice(message.text || "Có lỗi xảy ra."); }
    }
  }

  // ---- opening and closing ----
  function setOpen(open) {
    isOpen = open;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    launcher.setAttribute("aria-label", open ? "Đóng cửa sổ trò chuyện" : "Mở cửa sổ trò chuyện");
    frame.classList.toggle("hcc--open", open);
    if (open) {
      unread.hidden = true;
      scrollDown();
      input.focus();
    }
  }
  launcher.addEventListener("click", function () { setOpen(!isOpen); });
  close.addEventListener("click", function () { setOpen(false); launcher.focus(); });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !config.page) { setOpen(false); launcher.focus(); }
  });

  function mount() {
    document.body.appendChild(host);
    setOpen(config.open);
    connect();
  }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
