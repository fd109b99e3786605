"use strict";
// Login: JSON to /api/auth/login; the server sets the HttpOnly session cookie and says where to go.
(function () {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const submit = document.getElementById("login-submit");

  function target(home) {
    // Only our own pages: a crafted ?next= must not send staff elsewhere.
    const next = new URLSearchParams(location.search).get("next") || "";
    const ours = /^\/(console|admin)(\/|$|#)/.test(next) && !next.startsWith("//");
    if (ours && !(next.startsWith("/admin") && home !== "/admin")) return next;
    return home;
  }

  fetch("/api/auth/me", {credentials: "same-origin"}).then(function (response) {
    if (response.ok) return response.json().then(function (me) { location.replace(target(me.home)); });
  }).catch(function () {});

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    const username = form.username.value.trim();
    const password = form.password.value;
    if (!username || !password) {
      error.textContent = "Vui lòng nhập tên đăng nhập và mật khẩu.";
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    fetch("/api/auth/login", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({username: username, password: password}),
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.error || "Đăng nhập không thành công.");
        location.replace(target(body.home));
      });
    }).catch(function (failure) {
      error.textContent = failure.message || "Không kết nối được máy chủ. Vui lòng thử lại.";
      error.hidden = false;
      form.password.value = "";
    }).finally(function () { submit.disabled = false; });
  });
})();
