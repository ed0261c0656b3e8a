// Every agent page: errors from any htmx request are shown where the agent is looking.
// A refused form (a 4xx answered with an HTML fragment, e.g. a grant over its ceiling: 422)
// replaces its target like a success, so its message appears in place; anything else that went
// wrong (network, 5xx, a page-sized 4xx) becomes a toast instead of a silent no-op.
(function () {
  "use strict";
  var IN_PLACE = { 400: true, 409: true, 422: true };

  function region() {
    var box = document.getElementById("toasts");
    if (!box) {
      box = document.createElement("div");
      box.id = "toasts";
      box.className = "toasts";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    return box;
  }

  function toast(text, kind) {
    var item = document.createElement("div");
    item.className = "toast " + (kind || "error");
    item.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(close);
    region().appendChild(item);
    setTimeout(function () { item.remove(); }, 8000);
  }
  window.supportdeskToast = toast;

  function isFragment(xhr) {
    var type = xhr.getResponseHeader("Content-Type") || "";
    return type.indexOf("text/html") === 0 && !/<html[\s>]/i.test(xhr.responseText || "");
  }

  var WORDS = {
    401: "Your session has ended: log in again.",
    403: "You don't have permission to do that.",
    404: "That is no longer here (it may have been moved or deleted).",
    413: "That is too large to send.",
    429: "Too many requests: wait a moment, then try again.",
  };

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status < 400) return;
    if (IN_PLACE[xhr.status] && isFragment(xhr)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
      return;
    }
    event.detail.shouldSwap = false;
    toast(WORDS[xhr.status] || "The server could not do that (" + xhr.status + "). Try again.");
  });
  // Undo buttons count their window down ("Undo (8:12 left)") from the server's undo_until, so the
  // window shown survives a reload; when it closes the button goes quiet (the sweep executes).
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-undo-until]").forEach(function (button) {
      var left = Math.floor((Date.parse(button.dataset.undoUntil) - now) / 1000);
      var label = button.querySelector(".countdown");
      if (left <= 0) {
        button.disabled = true;
        if (label) label.textContent = "(window closed: executing)";
        return;
      }
      var text = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (label) label.textContent = "(" + text + " left)";
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);

  // The grant dialog previews the sentence the customer will read, as the agent types it.
  document.addEventListener("input", function (event) {
    if (!event.target.matches || !event.target.matches("[data-grant-reason]")) return;
    var preview = event.target.form && event.target.form.querySelector("[data-grant-preview]");
    if (preview) preview.textContent = event.target.value.trim() || "…";
  });

  document.addEventListener("htmx:sendError", function () {
    toast("Network error: nothing was sent. Check your connection and try again.");
  });
  document.addEventListener("htmx:timeout", function () {
    toast("The server took too long to answer. Try again.");
  });
})();
