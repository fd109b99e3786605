"use strict";
// Shared by the console and admin pages: who is signed in, the CSRF-carrying API helper, tabs, logout.
(function () {
  let csrf = "";

  function el(tag, attrs) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(function ([key, value]) {
      if (value === null || value === undefined || value === false) return;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    });
    Array.prototype.slice.call(arguments, 2).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  function toLogin() {
    const base = location.pathname.startsWith("/admin") ? "/admin/login" : "/console/login";
    location.replace(base + "?next=" + encodeURIComponent(location.pathname + location.hash));
  }

  function api(method, url, body) {
    const options = {method: method, credentials: "same-origin", headers: {"Accept": "application/json"}};
    if (method !== "GET") {
      options.headers["X-CSRF-Token"] = csrf;
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body || {});
    }
    return fetch(url, options).then(function (response) {
      if (response.status === 401) { toLogin(); throw new Error("Phiên đăng nhập đã hết."); }
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(data.error || "Yêu cầu không thành công (mã " + response.status + ").");
        return data;
      });
    }, function () { throw new Error("Không kết nối được máy chủ. Vui lòng thử lại."); });
  }

  let toastTimer = null;
  function toast(text, kind) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = text;
    box.className = kind === "error" ? "toast error" : "toast ok";
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, kind === "error" ? 8000 : 4000);
  }

  function formatTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    const two = function (n) { return String(n).padStart(2, "0"); };
    return two(d.getDate()) + "/" + two(d.getMonth() + 1) + "/" + d.getFullYear() + " " + two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function showView() {
    const tabs = document.querySelectorAll("[data-view]");
    if (!tabs.length) return;
    const wanted = (location.hash || "#queue").slice(1);
    const view = document.getElementById("view-" + wanted) ? wanted : "queue";
    document.querySelectorAll(".view").forEach(function (section) { section.hidden = section.id !== "view-" + view; });
    tabs.forEach(function (tab) { tab.classList.toggle("active", tab.dataset.view === view); });
    document.dispatchEvent(new CustomEvent("hcc:view", {detail: {view: view}}));
  }

  const ready = fetch("/api/auth/me", {credentials: "same-origin"}).then(function (response) {
    if (!response.ok) { toLogin(); return new Promise(function () {}); }
    return response.json();
  }).then(function (me) {
    csrf = me.csrf_token;
    window.HCC.staff = me;
    return me;
  });

  window.HCC = {ready: ready, api: api, toast: toast, el: el, formatTime: formatTime, staff: null};

  document.addEventListener("DOMContentLoaded", function () {
    ready.then(function (me) {
      document.getElementById("staff-name").textContent = me.full_name;
      document.getElementById("staff-role").textContent = me.role_label;
      const adminLink = document.getElementById("admin-link");
      if (adminLink) adminLink.hidden = me.role !== "admin";
      document.getElementById("logout").addEventListener("click", function () {
        api("POST", "/api/auth/logout").then(function (done) { location.replace(done.next); },
          function (failure) { toast(failure.message, "error"); });
      });
      window.addEventListener("hashchange", showView);
      showView();
    });
  });
})();
