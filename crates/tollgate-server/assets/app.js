// Tollgate dashboard: the little the pages need beyond plain forms. Every page works without it.
"use strict";
(function () {
  // <form data-confirm="Delete this license?">: ask first.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      e.preventDefault();
    }
  }, true);

  // <button data-copy="#id">: copy that element's text.
  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("[data-copy]") : null;
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    var done = function () {
      var before = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = before; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      document.body.removeChild(area);
      done();
    }
  });

  // <div data-refresh="/apps/x/sessions/live" data-every="3">: replace its content with that
  // URL's every few seconds while the page is visible.
  function refresh(el) {
    if (document.hidden) return;
    fetch(el.getAttribute("data-refresh"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        // Keep keyboard focus on the same control when it is still there.
        var focused = document.activeElement && el.contains(document.activeElement) ? document.activeElement.id : null;
        el.innerHTML = html;
        if (focused) {
          var again = document.getElementById(focused);
          if (again) again.focus();
        }
      })
      .catch(function () {});
  }
  document.querySelectorAll("[data-refresh]").forEach(function (el) {
    var every = Math.max(1, parseInt(el.getAttribute("data-every") || "5", 10)) * 1000;
    setInterval(function () { refresh(el); }, every);
  });

  // <form data-upload enctype="multipart/form-data"> with a <progress> inside: send it with
  // progress, the CSRF token in X-CSRF-Token, then show where the server redirected.
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.XMLHttpRequest || !window.FormData) return;
      e.preventDefault();
      var bar = form.querySelector("progress");
      var status = form.querySelector("[data-upload-status]");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      var token = form.querySelector("input[name=csrf]");
      if (token) xhr.setRequestHeader("X-CSRF-Token", token.value);
      xhr.upload.addEventListener("progress", function (p) {
        if (!p.lengthComputable) return;
        if (bar) { bar.max = p.total; bar.value = p.loaded; bar.hidden = false; }
        if (status) status.textContent = Math.round(100 * p.loaded / p.total) + " %";
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 400) {
          window.location.assign(xhr.responseURL || window.location.href);
        } else {
          document.open();
          document.write(xhr.responseText);
          document.close();
        }
      });
      xhr.addEventListener("error", function () {
        if (status) status.textContent = "Upload failed: the connection was lost.";
      });
      xhr.send(new FormData(form));
    });
  });
})();
