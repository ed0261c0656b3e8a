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
    // Rows that arrive live are highlighted for a moment, so the agent sees what is new.
    var known = null;
    var idsNow = function () {
      var ids = {};
      rows().forEach(function (row) { ids[row.getAttribute("data-ticket-id")] = true; });
      return ids;
    };
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (!known || !e.detail.target || e.detail.target.id !== "ticket-table") return;
      rows().forEach(function (row) {
        if (!known[row.getAttribute("data-ticket-id")]) row.classList.add("arrived");
      });
      known = null;
    });
    var refresh = function () {
      var table = document.getElementById("ticket-table");
      if (!table || !window.htmx) return;
      known = idsNow();
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

    // Bulk bar: "select all on the page", a count of the ticked rows, the value field the
    // chosen action needs. Ticks survive the live re-fetch of the table.
    var bulkForm = document.getElementById("bulk-form");
    if (bulkForm) {
      var ticked = {};
      var boxes = function () { return document.querySelectorAll("#ticket-table input[name=ids]"); };
      var count = function () {
        var n = Object.keys(ticked).length;
        var label = bulkForm.querySelector("[data-selected-count]");
        label.textContent = n ? n + " selected," : "Tick tickets, or";
      };
      var restore = function () {
        boxes().forEach(function (box) { box.checked = !!ticked[box.value]; });
        count();
      };
      document.addEventListener("change", function (e) {
        var t = e.target;
        if (t.matches && t.matches("#ticket-table input[name=ids]")) {
          if (t.checked) ticked[t.value] = true; else delete ticked[t.value];
          count();
        } else if (t.matches && t.matches("[data-select-page]")) {
          boxes().forEach(function (box) {
            box.checked = t.checked;
            if (t.checked) ticked[box.value] = true; else delete ticked[box.value];
          });
          count();
        } else if (t.matches && t.matches("[data-bulk-action]")) {
          bulkForm.querySelectorAll("[data-bulk-for]").forEach(function (field) {
            field.hidden = field.getAttribute("data-bulk-for").split(" ").indexOf(t.value) < 0;
          });
        }
      });
      // Rows re-rendered by a live refresh are outside the form: re-add the ticked ids on submit.
      bulkForm.addEventListener("submit", function () {
        bulkForm.querySelectorAll("input[data-carried]").forEach(function (el) { el.remove(); });
        Object.keys(ticked).forEach(function (id) {
          if (document.querySelector("#ticket-table input[name=ids][value='" + id + "']")) return;
          var input = document.createElement("input");
          input.type = "hidden"; input.name = "ids"; input.value = id; input.setAttribute("data-carried", "");
          bulkForm.appendChild(input);
        });
      });
      document.body.addEventListener("htmx:afterSwap", restore);
    }

    // The sidebar's counts follow the same events: re-read (cheap, cached per view on the
    // server); a "stale" answer (recounted at most once a second) is asked again a moment later.
    var countsUrl = inbox.getAttribute("data-counts-url");
    var countsTimer = null;
    var refreshCounts = function () {
      if (!countsUrl || !window.fetch) return;
      fetch(countsUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          Object.keys(data.views || {}).forEach(function (name) {
            var el = inbox.querySelector("[data-view-count='" + name + "']");
            if (el && el.textContent !== data.views[name]) { el.textContent = data.views[name]; el.classList.add("changed"); }
          });
          Object.keys(data.saved || {}).forEach(function (pk) {
            var el = inbox.querySelector("[data-saved-count='" + pk + "']");
            if (el && el.textContent !== data.saved[pk]) { el.textContent = data.saved[pk]; el.classList.add("changed"); }
          });
          if (data.stale) { clearTimeout(countsTimer); countsTimer = setTimeout(refreshCounts, 1100); }
        })
        .catch(function () { /* a hint: the next event or reload tries again */ });
    };

    // Several events in a burst (a reply changes status and assignee) cost one re-fetch.
    var pending = null;
    liveSocket(inbox.getAttribute("data-inbox-ws"), function (event) {
      if (event.type !== "ticket.changed") return;
      clearTimeout(pending);
      pending = setTimeout(function () { refresh(); refreshCounts(); }, 250);
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
