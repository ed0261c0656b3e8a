// Agent app glue, no dependencies beyond htmx: inbox keyboard shortcuts, live inbox refresh,
// and the ticket page's presence (collision warning) socket. Pages work without this file.
(function () {
  "use strict";

  var wsBase = (location.protocol === "https:" ? "wss://" : "ws://") + location.host;

  // A socket that reconnects with backoff; the server is only a hint, pages re-read on events.
  function liveSocket(path, onMessage, onOpen) {
    var delay = 1000;
    var socket = null;
    function connect() {
      socket = new WebSocket(wsBase + path);
      socket.onopen = function () { delay = 1000; if (onOpen) onOpen(socket); };
      socket.onmessage = function (e) {
        try { onMessage(JSON.parse(e.data), socket); } catch (err) { /* ignore bad frames */ }
      };
      socket.onclose = function (e) {
        if (e.code === 4401 || e.code === 4404) return; // logged out or gone: do not hammer
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30000);
      };
    }
    connect();
    return function () { return socket; };
  }

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function toggleHelp(force) {
    var box = document.getElementById("shortcut-help");
    if (!box) return;
    box.hidden = force === undefined ? !box.hidden : !force;
  }

  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("[data-help-toggle]")) toggleHelp();
  });

  // --- inbox ---------------------------------------------------------------------------------
  var inbox = document.querySelector("[data-inbox-ws]");
  if (inbox) {
    var selected = -1;
    var rows = function () { return document.querySelectorAll("#ticket-table tr[data-href]"); };
    var select = function (index) {
      var list = rows();
      if (!list.length) return;
      selected = Math.max(0, Math.min(list.length - 1, index));
      list.forEach(function (row, i) { row.classList.toggle("selected", i === selected); });
      list[selected].scrollIntoView({ block: "nearest" });
    };
    var refresh = function () {
      var table = document.getElementById("ticket-table");
      if (!table || !window.htmx) return;
      window.htmx.ajax("GET", table.getAttribute("data-refresh-url"), { target: "#ticket-table", swap: "outerHTML" });
    };
    document.body.addEventListener("htmx:afterSwap", function () { if (selected >= 0) select(selected); });

    document.addEventListener("keydown", function (e) {
      if (e.metaKey || e.ctrlKey || e.altKey) return;
      if (e.key === "Escape") { toggleHelp(false); if (typing(e.target)) e.target.blur(); return; }
      if (typing(e.target)) return;
      if (e.key === "j") select(selected + 1);
      else if (e.key === "k") select(selected - 1);
      else if (e.key === "Enter" && selected >= 0) { var row = rows()[selected]; if (row) location.href = row.getAttribute("data-href"); }
      else if (e.key === "r") refresh();
      else if (e.key === "/") { var q = document.querySelector("input[name=q]"); if (q) { e.preventDefault(); q.focus(); } }
      else if (e.key === "?") toggleHelp();
      else return;
    });

    // Several events in a burst (a reply changes status and assignee) cost one re-fetch.
    var pending = null;
    liveSocket(inbox.getAttribute("data-inbox-ws"), function (event) {
      if (event.type !== "ticket.changed") return;
      clearTimeout(pending);
      pending = setTimeout(refresh, 250);
    });
  }

  // --- ticket page ----------------------------------------------------------------------------
  var ticketPage = document.querySelector("[data-ticket-ws]");
  if (ticketPage) {
    var me = ticketPage.getAttribute("data-user-id");
    var viewers = document.getElementById("viewers");
    var notice = document.getElementById("live-notice");
    var show = function (text) { notice.querySelector("span").textContent = text; notice.hidden = false; };

    document.addEventListener("keydown", function (e) {
      if (e.metaKey || e.ctrlKey || e.altKey) return;
      if (e.key === "Escape") {
        if (typing(e.target)) e.target.blur(); else location.href = "/inbox/";
        return;
      }
      if (typing(e.target)) return;
      if (e.key === "r") { var box = document.querySelector("#reply textarea"); if (box) { e.preventDefault(); box.focus(); } }
    });

    var heartbeat = null;
    liveSocket(ticketPage.getAttribute("data-ticket-ws"), function (event) {
      if (event.type === "ticket.viewers") {
        var names = (event.viewers || []).filter(function (v) { return String(v.id) !== me; })
          .map(function (v) { return v.name; });
        viewers.textContent = names.length ? names.join(", ") + (names.length > 1 ? " are" : " is") + " viewing this ticket" : "";
        viewers.hidden = !names.length;
      } else if (event.type === "ticket.message") {
        show(event.internal ? "A new internal note was added." : "A new message arrived.");
      } else if (event.type === "ticket.updated" && String(event.by_id) !== me) {
        show("This ticket was changed by someone else.");
      }
    }, function (socket) {
      clearInterval(heartbeat);
      heartbeat = setInterval(function () {
        if (socket.readyState === 1) socket.send(JSON.stringify({ type: "heartbeat" }));
      }, 20000);
    });
  }
})();
