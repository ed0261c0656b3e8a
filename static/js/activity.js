/* Support hours: while an agent page is visible and in use, tell the server every minute.
 * Dependency-free. A beat is sent only when the page is visible and there was input (keys,
 * pointer, scroll, touch) within the idle limit; the server checks the same rule and merges beats
 * from every tab and the chat console into one span, so nothing is counted twice. */
(function () {
  "use strict";
  var script = document.querySelector("script[data-activity-url]");
  if (!script || !window.fetch) return;
  var url = script.getAttribute("data-activity-url");
  var interval = Math.max(1, +script.getAttribute("data-interval") || 60) * 1000;
  var idleLimit = (+script.getAttribute("data-idle-limit") || 300) * 1000;
  var lastInput = Date.now(); // arriving on a page is an input (a click or a typed address)

  function csrf() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }
  function idleSeconds() { return Math.floor((Date.now() - lastInput) / 1000); }
  function visible() { return document.visibilityState === "visible"; }
  function active() { return visible() && Date.now() - lastInput <= idleLimit; }

  function beat() {
    if (!active()) return;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ visible: true, idle_seconds: idleSeconds() }),
    }).catch(function () { /* offline for a moment: the next beat continues the span */ });
  }

  function touched() { lastInput = Date.now(); }
  ["keydown", "mousedown", "mousemove", "wheel", "scroll", "touchstart", "focus"].forEach(function (name) {
    window.addEventListener(name, touched, { passive: true, capture: true });
  });
  document.addEventListener("visibilitychange", function () { if (visible()) { touched(); beat(); } });

  // The chat console's socket heartbeat reports the same activity (see static/js/console.js).
  window.SupportdeskActivity = { idleSeconds: idleSeconds, visible: visible };
  beat();
  setInterval(beat, interval);
})();
