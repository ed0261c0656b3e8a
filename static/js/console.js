/* Agent chat console: the queue (live over /ws/agent/), several chats side by side, shadow mode.
 * Dependency-free. Messages are kept by server seq; unacked sends are resent with the same
 * client_id (stored once by the server); a reconnect or a seq gap resumes from the database. */
(function () {
  "use strict";
  var rootEl = document.getElementById("chat-console");
  if (!rootEl) return;
  var csrf = rootEl.dataset.csrf;
  var wsUrl = location.origin.replace(/^http/, "ws") + "/ws/agent/";
  var queueEl = document.getElementById("chat-queue");
  var queueCount = document.getElementById("chat-queue-count");
  var activeEl = document.getElementById("chat-active");
  var panesEl = document.getElementById("chat-panes");
  var connEl = document.getElementById("chat-connection");
  var presenceEl = document.getElementById("chat-presence");
  var agentOptions = document.getElementById("chat-agents").innerHTML;
  var teamsTpl = document.getElementById("chat-teams");
  var teamOptions = teamsTpl ? teamsTpl.innerHTML : "";
  var me = +rootEl.dataset.userId;
  var agentNames = {};
  [].forEach.call(document.getElementById("chat-agents").content.querySelectorAll("option"), function (o) { agentNames[o.value] = o.textContent; });
  var baseTitle = document.title;

  var ws = null, attempts = 0, unseen = 0;
  var queue = {}; // conversation id -> summary
  var panes = {}; // conversation id -> pane state

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function uuid() {
    return window.crypto && crypto.randomUUID
      ? crypto.randomUUID()
      : "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }
  function send(frame) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(frame)); return true; }
    return false;
  }
  function api(method, path, body) {
    return fetch("/api/v1/" + path, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.detail || "Request failed");
        return data;
      });
    });
  }

  // --- notifications: title count and a short tone, only when the tab is in the background ---
  // `assigned`: routing gave this agent a chat; the badge lights even in a visible tab, until
  // they act in the console.
  function notify(assigned) {
    if (!document.hidden && !assigned) return;
    unseen++;
    document.title = "(" + unseen + ") " + baseTitle;
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator();
      osc.frequency.value = 660;
      osc.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.12);
    } catch (e) { /* no audio */ }
  }
  function seen() { if (unseen) { unseen = 0; document.title = baseTitle; } }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) seen(); });
  rootEl.addEventListener("pointerdown", seen);
  rootEl.addEventListener("keydown", seen);

  // --- queue ---
  function renderQueue() {
    queueEl.textContent = "";
    var ids = Object.keys(queue);
    queueCount.textContent = String(ids.length);
    ids.forEach(function (id) {
      var c = queue[id];
      var li = el("li", { "data-conversation": id, class: "queue-item" });
      var who = el("div", { class: "queue-who" });
      who.appendChild(el("strong", {}, c.visitor_name + (c.verified ? " \u2713" : "")));
      if (!c.verified && c.visitor_email) who.appendChild(el("span", { class: "badge unverified-chat" }, "unverified: says they are " + c.visitor_email));
      who.appendChild(el("span", { class: "queue-wait muted", "data-since": c.created_at }, waited(c.created_at)));
      if (c.team) who.appendChild(el("span", { class: "badge queue-team" }, c.team));
      if (c.assignee_id) who.appendChild(el("span", { class: "badge queue-assignee" }, "with " + (agentNames[c.assignee_id] || "an agent")));
      li.appendChild(who);
      li.appendChild(el("p", { class: "queue-preview muted" }, previews[id] || ""));
      preview(+id, c.last_seq);
      var join = el("button", { type: "button", class: "chat-join" }, "Join");
      join.setAttribute("aria-label", "Join chat with " + c.visitor_name);
      join.addEventListener("click", function () { openPane(+id, "join"); });
      var watch = el("button", { type: "button", class: "link chat-watch" }, "Watch");
      watch.setAttribute("aria-label", "Watch chat with " + c.visitor_name + " read-only");
      watch.addEventListener("click", function () { openPane(+id, "watch"); });
      li.appendChild(join);
      li.appendChild(watch);
      queueEl.appendChild(li);
    });
  }
  // What the visitor asked and how long they have waited, so the next chat is picked knowingly.
  var previews = {}, previewSeq = {};
  function waited(since) {
    var s = Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 1000));
    return s < 60 ? "waiting " + s + "s" : s < 3600 ? "waiting " + Math.floor(s / 60) + "m" : "waiting " + Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  }
  setInterval(function () {
    document.querySelectorAll(".queue-wait[data-since]").forEach(function (n) { n.textContent = waited(n.dataset.since); });
  }, 5000);
  function preview(id, seq) {
    if (previewSeq[id] === seq) return;
    previewSeq[id] = seq;
    api("GET", "chats/" + id + "?after_seq=" + Math.max(0, seq - 3)).then(function (c) {
      var lines = (c.messages || []).filter(function (m) { return m.author.type === "visitor"; });
      if (!lines.length) return;
      previews[id] = lines[lines.length - 1].body.slice(0, 140);
      var row = queueEl.querySelector('li[data-conversation="' + id + '"] .queue-preview');
      if (row) row.textContent = previews[id];
    }).catch(function () {});
  }

  // A waiting chat routing gave to me: it opens by itself (subscribed, not yet answered; my
  // first line makes it active), with a sound and the tab badge.
  function mine(c) { return c.status === "waiting" && c.last_seq > 0 && +c.assignee_id === me; }
  function openAssigned(c, alert) {
    var fresh = !panes[c.id];
    if (fresh) openPane(c.id, "join", true, true);
    if (fresh && alert) notify(true);
  }
  var stateSeq = {}; // conversation id -> last_seq of the newest frame that changed its state
  function onQueue(frame) {
    var c = frame.conversation;
    var wasWaiting = !!queue[c.id] && queue[c.id].status === "waiting";
    if (frame.preview) {
      if (!(previewSeq[c.id] >= c.last_seq)) { previews[c.id] = frame.preview; previewSeq[c.id] = c.last_seq; }
      // Previews come in batches (livechat/queue_previews.py): one from before the chat's last
      // change of state (an agent joined, it was requeued) shows its line, not its old state.
      if (c.last_seq <= (stateSeq[c.id] || 0)) { renderQueue(); return; }
    } else {
      stateSeq[c.id] = Math.max(stateSeq[c.id] || 0, c.last_seq);
    }
    if (mine(c)) {
      delete queue[c.id];
      openAssigned(c, true);
    } else if (c.status === "waiting" && c.last_seq > 0) {
      if (!queue[c.id]) notify();
      queue[c.id] = c;
    } else {
      delete queue[c.id];
    }
    renderQueue();
    if (panes[c.id]) updateHeader(panes[c.id], c);
    // A new line in a chat that was already waiting leaves the active list as it was: no
    // request per line per console.
    if (!(wasWaiting && c.status === "waiting")) loadActive();
  }
  function loadActive() {
    api("GET", "chats?status=active").then(function (data) {
      activeEl.textContent = "";
      data.items.forEach(function (c) {
        var li = el("li");
        li.appendChild(el("span", {}, c.visitor_name));
        var open = el("button", { type: "button", class: "link" }, "Open");
        open.addEventListener("click", function () { openPane(c.id, "join", true); });
        var watch = el("button", { type: "button", class: "link" }, "Watch");
        watch.addEventListener("click", function () { openPane(c.id, "watch"); });
        li.appendChild(open);
        li.appendChild(watch);
        activeEl.appendChild(li);
      });
    }).catch(function () {});
  }

  // --- panes ---
  // --- tabs: several open chats, one conversation in view at a time ---
  var tabsEl = document.getElementById("chat-tabs");
  var current = null;
  function show(id) {
    current = id;
    for (var k in panes) {
      var on = +k === +id;
      panes[k].node.hidden = !on;
      panes[k].tab.setAttribute("aria-selected", on ? "true" : "false");
      panes[k].tab.tabIndex = on ? 0 : -1;
      if (on) panes[k].tab.classList.remove("unread");
    }
  }
  function addTab(p) {
    p.tab = el("button", { type: "button", role: "tab", class: "chat-tab", "aria-controls": "chat-pane-" + p.id, id: "chat-tab-" + p.id }, "Chat " + p.id);
    p.tab.addEventListener("click", function () { show(p.id); if (p.input) p.input.focus(); });
    tabsEl.appendChild(p.tab);
  }

  // `background`: opened for the agent (routing) while they work in another chat: a new tab
  // marked unread, their focus stays where it is.
  function openPane(id, mode, noTake, background) {
    var p = panes[id];
    if (p && (p.mode === mode || mode === "watch")) { show(id); p.input && p.input.focus(); return; }
    if (p) { p.node.remove(); p.tab.remove(); }
    var empty = document.getElementById("chat-empty");
    if (empty) empty.remove();
    p = panes[id] = { id: id, mode: mode, lastSeq: 0, seen: {}, nodes: {}, pending: {}, lastTyping: 0 };
    var node = (p.node = el("section", { class: "chat-pane", id: "chat-pane-" + id, role: "tabpanel", "data-conversation": String(id), "aria-label": "Chat " + id }));
    var header = el("header");
    p.title = el("h2", {}, "Chat " + id);
    header.appendChild(p.title);
    p.meta = el("span", { class: "chat-meta" });
    header.appendChild(p.meta);
    var close = el("button", { type: "button", class: "link", "aria-label": "Close this chat pane" }, "\u00d7");
    close.addEventListener("click", function () {
      send({ type: "leave", conversation_id: id });
      node.remove();
      p.tab.remove();
      delete panes[id];
      var rest = Object.keys(panes);
      if (rest.length) show(+rest[rest.length - 1]);
    });
    header.appendChild(close);
    node.appendChild(header);
    // tabindex: a long conversation must scroll from the keyboard too (axe: scrollable-region-focusable).
    p.log = el("div", { class: "chat-log", role: "log", "aria-live": "polite", "aria-label": "Conversation " + id, tabindex: "0" });
    node.appendChild(p.log);
    p.typing = el("div", { class: "chat-typing", "aria-live": "polite" });
    node.appendChild(p.typing);
    if (mode === "watch") {
      node.appendChild(el("p", { class: "chat-tools" }, "Shadowing read-only: you see the chat live."));
    } else {
      var form = el("form", { class: "chat-compose" });
      p.input = el("textarea", { rows: "2", "aria-label": "Reply", name: "body", "data-snippets": "" });
      form.appendChild(p.input);
      var pick = el("input", { type: "file", multiple: "", hidden: "", "aria-label": "Attach files" });
      var attach = el("button", { type: "button", class: "link", title: "Attach files (or paste, or drop)" }, "Attach");
      attach.addEventListener("click", function () { pick.click(); });
      pick.addEventListener("change", function () { [].forEach.call(pick.files, function (f) { uploadFile(p, f); }); pick.value = ""; });
      p.input.addEventListener("paste", function (e) {
        var list = e.clipboardData && e.clipboardData.files;
        if (list && list.length) { e.preventDefault(); [].forEach.call(list, function (f) { uploadFile(p, f); }); }
      });
      form.addEventListener("dragover", function (e) { e.preventDefault(); });
      form.addEventListener("drop", function (e) {
        if (e.dataTransfer && e.dataTransfer.files.length) { e.preventDefault(); [].forEach.call(e.dataTransfer.files, function (f) { uploadFile(p, f); }); }
      });
      form.appendChild(attach);
      form.appendChild(pick);
      form.appendChild(el("button", { type: "submit" }, "Send"));
      form.addEventListener("submit", function (e) { e.preventDefault(); sendMessage(p); });
      p.input.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); sendMessage(p); }
      });
      p.input.addEventListener("input", function () {
        if (Date.now() - p.lastTyping > 2000) {
          p.lastTyping = Date.now();
          send({ type: "typing", conversation_id: id });
        }
      });
      node.appendChild(form);
    }
    // The right column: who the customer is, their orders, and what the agent can do for them.
    // "Make it right" opens here, so the conversation stays in view while granting.
    p.context = el("div", { class: "chat-context", "aria-label": "Customer and tools" });
    p.customer = el("details", { class: "chat-customer chat-tools", open: "" });
    p.customer.appendChild(el("summary", {}, "Customer"));
    p.context.appendChild(p.customer);
    if (mode !== "watch") p.context.appendChild(tools(p));
    node.appendChild(p.context);
    panesEl.appendChild(node);
    addTab(p);
    var quiet = background && current !== null && panes[current] && +current !== +id;
    if (quiet) { node.hidden = true; p.tab.classList.add("unread"); p.tab.tabIndex = -1; p.tab.setAttribute("aria-selected", "false"); }
    else show(id);
    subscribe(p, !noTake);
    api("GET", "chats/" + id + "?after_seq=999999999").then(function (c) {
      updateHeader(p, c);
      loadCustomer(p, c);
    }).catch(function () {});
    if (p.input && !quiet) p.input.focus();
  }

  function subscribe(p, take) {
    if (p.mode === "watch") send({ type: "watch", conversation_id: p.id, after_seq: p.lastSeq });
    else send({ type: "join", conversation_id: p.id, after_seq: p.lastSeq, take: take });
  }

  function tools(p) {
    var box = el("div", { class: "chat-tools" });
    var esc = el("details");
    esc.appendChild(el("summary", {}, "Escalate to email"));
    var form = el("form", { class: "chat-escalate" });
    var email = el("input", { type: "email", name: "email", placeholder: "customer@example.com", "aria-label": "Customer email" });
    var note = el("textarea", { name: "note", rows: "3", "aria-label": "First email to the customer" });
    var follow = el("input", { type: "datetime-local", name: "follow_up_at", "aria-label": "Follow up at (optional)" });
    var result = el("span", { role: "status" });
    form.appendChild(email);
    form.appendChild(note);
    form.appendChild(follow);
    form.appendChild(el("button", { type: "submit" }, "Send by email"));
    form.appendChild(result);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = { email: email.value, note: note.value };
      if (follow.value) body.follow_up_at = new Date(follow.value).toISOString();
      api("POST", "chats/" + p.id + "/escalate", body).then(function (data) {
        result.textContent = "";
        var link = el("a", { href: "/tickets/" + data.ticket_id + "/" }, "Ticket #" + data.reference);
        result.appendChild(link);
      }).catch(function (err) { result.textContent = err.message; });
    });
    esc.appendChild(form);
    box.appendChild(esc);

    var transfer = el("form", { class: "chat-transfer" });
    var select = el("select", { "aria-label": "Transfer to", required: "" });
    // Nobody is preselected (least of all yourself): a transfer is a choice.
    select.innerHTML = '<option value="" selected disabled>Transfer to\u2026</option>' + agentOptions +
      (teamOptions ? '<optgroup label="Teams">' + teamOptions + "</optgroup>" : "");
    var mine = select.querySelector('option[value="' + rootEl.dataset.userId + '"]');
    if (mine) mine.remove();
    transfer.appendChild(select);
    transfer.appendChild(el("button", { type: "submit" }, "Transfer"));
    transfer.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!select.value) return;
      if (select.value.indexOf("team:") === 0) send({ type: "transfer", conversation_id: p.id, to_team_id: +select.value.slice(5) });
      else send({ type: "transfer", conversation_id: p.id, to_user_id: +select.value });
    });
    box.appendChild(transfer);
    // Ending is final for the customer: a secondary action that asks once, in place.
    var endBox = el("div", { class: "chat-end" });
    var end = el("button", { type: "button", class: "danger chat-end-ask" }, "End chat\u2026");
    var confirmBox = el("div", { class: "chat-end-confirm", role: "group", "aria-label": "Confirm ending the chat", hidden: "" });
    confirmBox.appendChild(el("span", { class: "small" }, "End the chat? The customer can't write here afterwards."));
    var yes = el("button", { type: "button", class: "danger" }, "End chat");
    var no = el("button", { type: "button" }, "Keep chatting");
    confirmBox.appendChild(yes);
    confirmBox.appendChild(no);
    end.addEventListener("click", function () { confirmBox.hidden = false; end.hidden = true; no.focus(); });
    no.addEventListener("click", function () { confirmBox.hidden = true; end.hidden = false; end.focus(); });
    yes.addEventListener("click", function () { send({ type: "end", conversation_id: p.id }); confirmBox.hidden = true; });
    endBox.appendChild(end);
    endBox.appendChild(confirmBox);
    p.endBox = endBox;

    // Grants from inside the chat: the same dialog as on the ticket page, an htmx fragment bound
    // to this chat and its customer. A granted dialog comes back with a fresh one below its
    // outcome, so the next grant is one more click.
    var make = el("button", { type: "button", class: "chat-make-right" }, "Make it right");
    make.setAttribute("aria-label", "Make it right in chat " + p.id);
    p.grants = el("div", { class: "chat-grant", "aria-live": "polite" });
    make.addEventListener("click", function () { openGrantDialog(p); });
    box.appendChild(make);
    box.appendChild(el("a", { href: "/wall/new?chat_id=" + p.id, target: "_blank", class: "chat-nominate" }, "Nominate a WOW story"));
    box.appendChild(p.grants);
    box.appendChild(endBox);
    p.emailInput = email;
    return box;
  }

  function openGrantDialog(p) {
    var open = p.grants.querySelector("form.grant-dialog");
    if (open) { open.querySelector("textarea").focus(); return; }
    var url = "/wow/grant?chat_id=" + p.id + (p.customerId ? "&customer_id=" + p.customerId : "");
    var slot = el("div");
    p.grants.appendChild(slot);
    window.htmx.ajax("GET", url, { target: slot, swap: "innerHTML" }).then(function () {
      var reason = slot.querySelector("textarea");
      if (reason) reason.focus();
    });
  }

  function setEnded(p) {
    if (p.ended) return;
    p.ended = true;
    p.node.classList.add("ended");
    // Nothing can reach the customer any more: every tool that would pretend otherwise is off.
    p.node.querySelectorAll(".chat-compose textarea, .chat-compose button, .chat-transfer select, .chat-transfer button, .chat-make-right, .chat-escalate button, .chat-end button, .grant-dialog button").forEach(function (n) { n.disabled = true; });
    if (p.input) p.input.placeholder = "This chat has ended.";
    p.log.appendChild(el("p", { class: "chat-msg system chat-ended-note" }, "The chat has ended."));
  }

  function updateHeader(p, c) {
    if (c.customer_id) p.customerId = c.customer_id;
    p.title.textContent = (c.visitor_name || "Visitor") + (c.verified ? " \u2713" : (c.visitor_email ? " \u2014 unverified: says they are " + c.visitor_email : ""));
    if (p.tab) p.tab.textContent = c.visitor_name || "Visitor";
    p.meta.textContent = c.status + (c.ticket_id ? " \u00b7 ticket " + c.ticket_id : "");
    if (c.status === "ended" || c.status === "escalated") setEnded(p);
    // Handle time, as plain information (never a timer or a target).
    p.lastSummary = c;
    refreshHandleTime(p);
    if (p.emailInput && !p.emailInput.value) p.emailInput.value = c.visitor_email || "";
  }

  function refreshHandleTime(p) {
    var stamp = (p.metaStamp = (p.metaStamp || 0) + 1);
    api("GET", "team/chats/" + p.id + "/handle-time").then(function (h) {
      if (!h.text || stamp !== p.metaStamp) return;
      var span = p.meta.querySelector(".chat-handle-time");
      if (!span) span = p.meta.appendChild(el("span", { class: "chat-handle-time", title: "Information, not a target" }));
      span.textContent = " \u00b7 " + h.text;
    }).catch(function () {});
  }
  // Handle time stays current while the chat is open (information, never a timer to beat).
  setInterval(function () { for (var k in panes) if (!panes[k].ended) refreshHandleTime(panes[k]); }, 30000);

  function loadCustomer(p, c) {
    if (!c.verified && c.visitor_email) {
      // A claim is not an identity: nothing of that customer is loaded until the visitor proves
      // the address with the code emailed to it (the widget offers it).
      p.customer.appendChild(el("p", { class: "flash warning unverified-chat" }, "Unverified: says they are " + c.visitor_email + ". Their orders and history stay hidden until the visitor confirms the code emailed to that address."));
      return;
    }
    if (!c.customer_id) { p.customer.appendChild(el("p", {}, "No customer record yet.")); return; }
    api("GET", "customers/" + c.customer_id).then(function (cu) {
      p.customer.appendChild(el("p", {}, (cu.name || "") + " \u00b7 " + (cu.tier || "") + " \u00b7 " + (cu.emails || []).join(", ")));
      var orders = el("ul");
      (cu.orders || []).slice(0, 10).forEach(function (o) {
        var ships = (o.shipments || []).map(function (s) { return s.carrier + " " + s.tracking + " (" + s.status + ")" + (s.address ? ", to " + s.address : ""); }).join("; ");
        var line = "Order " + o.external_id + ": " + o.total + " " + o.currency + ", " + o.status + (ships ? " \u2014 " + ships : "");
        if (c.order_id === o.id) { // "Ask about this order" in the widget: open the sidebar on it
          p.customer.open = true;
          p.customer.insertBefore(el("p", { class: "chat-asked-order" }, "Asked about: " + line), p.customer.children[1] || null);
          orders.insertBefore(el("li", { class: "chat-asked-order" }, line + " (asked about)"), orders.firstChild);
        } else orders.appendChild(el("li", {}, line));
      });
      p.customer.appendChild(el("h3", {}, "Orders"));
      p.customer.appendChild(orders);
      var tickets = el("ul");
      (cu.tickets || []).slice(0, 10).forEach(function (t) {
        var li = el("li");
        li.appendChild(el("a", { href: "/tickets/" + t.id + "/" }, t.subject || "Ticket " + t.id));
        tickets.appendChild(li);
      });
      p.customer.appendChild(el("h3", {}, "Past tickets"));
      p.customer.appendChild(tickets);
      return api("GET", "chats?customer=" + c.customer_id).then(function (data) {
        var chats = el("ul");
        data.items.forEach(function (other) {
          if (other.id !== c.id) chats.appendChild(el("li", {}, "Chat " + other.id + " (" + other.status + ", " + other.created_at.slice(0, 10) + ")"));
        });
        p.customer.appendChild(el("h3", {}, "Past chats"));
        p.customer.appendChild(chats);
      });
    }).catch(function () {});
  }

  function renderMessage(p, key, f) {
    var node = p.nodes[key];
    if (!node) {
      node = p.nodes[key] = el("div");
      var after = null;
      if (f.seq) {
        for (var i = 0; i < p.log.children.length; i++) {
          var s = +p.log.children[i].dataset.seq || Infinity;
          if (s > f.seq) { after = p.log.children[i]; break; }
        }
      }
      p.log.insertBefore(node, after);
    }
    node.className = "chat-msg " + f.author.type + (f.pending ? " pending" : "");
    if (f.seq) node.dataset.seq = f.seq;
    node.textContent = "";
    var who = el("small", {}, f.author.name + (f.sent_at ? " \u00b7 " + new Date(f.sent_at).toLocaleTimeString() : ""));
    if (f.author.trainee) who.appendChild(el("span", { class: "badge trainee" }, "trainee"));
    node.appendChild(who);
    node.appendChild(document.createTextNode(f.body));
    if (f.progress != null) node.appendChild(el("progress", { max: "100", value: String(f.progress) }));
    if (f.failed) node.appendChild(el("small", { class: "error" }, f.failed));
    if (f.attachments && f.attachments.length) {
      var box = el("div", { class: "chat-files" });
      f.attachments.forEach(function (a) {
        var link = el("a", { href: a.url, download: a.filename, title: a.filename });
        if (a.thumbnail_url) link.appendChild(el("img", { src: a.thumbnail_url, alt: a.filename, class: "thumb" }));
        else link.textContent = a.filename;
        box.appendChild(link);
      });
      node.appendChild(box);
    }
    p.log.scrollTop = p.log.scrollHeight;
  }

  // Files from the agent: uploaded first (POST /api/v1/uploads, with progress), then sent as a
  // message that names them; the message is resent until acked like any other.
  function uploadFile(p, file) {
    var id = uuid(), body = p.input.value.trim() || file.name;
    p.input.value = "";
    var me = { type: "agent", name: rootEl.dataset.userName, trainee: rootEl.dataset.trainee === "true" };
    renderMessage(p, id, { author: me, body: body, pending: true, progress: 0 });
    var xhr = new XMLHttpRequest(), form = new FormData();
    form.append("file", file);
    xhr.open("POST", "/api/v1/uploads");
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) renderMessage(p, id, { author: me, body: body, pending: true, progress: Math.round((100 * e.loaded) / e.total) });
    };
    xhr.onload = function () {
      var d = {};
      try { d = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status !== 201) return renderMessage(p, id, { author: me, body: body, failed: d.detail || "Upload failed" });
      p.pending[id] = { body: body, attachments: [d], sent: Date.now() };
      renderMessage(p, id, { author: me, body: body, pending: true, attachments: [d] });
      send({ type: "message", conversation_id: p.id, client_id: id, body: body, attachment_ids: [d.id] });
    };
    xhr.onerror = function () { renderMessage(p, id, { author: me, body: body, failed: "Upload failed" }); };
    xhr.send(form);
  }

  function onMessage(f) {
    var p = panes[f.conversation_id];
    if (!p || f.seq in p.seen) return;
    p.seen[f.seq] = true;
    delete p.pending[f.client_id];
    renderMessage(p, f.client_id && p.nodes[f.client_id] ? f.client_id : "s" + f.seq, f);
    while (p.seen[p.lastSeq + 1]) p.lastSeq++;
    if (f.seq > p.lastSeq) send({ type: "resume", conversation_id: p.id, after_seq: p.lastSeq });
    if (f.author.type === "visitor") {
      p.typing.textContent = "";
      if (+current !== +p.id && p.tab) p.tab.classList.add("unread");
      notify();
      if (p.mode === "join") send({ type: "read", conversation_id: p.id, seq: f.seq });
    }
  }

  function sendMessage(p) {
    var body = p.input.value.trim();
    if (!body) return;
    p.input.value = "";
    var id = uuid();
    p.pending[id] = { body: body, sent: Date.now() };
    renderMessage(p, id, { author: { type: "agent", name: rootEl.dataset.userName, trainee: rootEl.dataset.trainee === "true" }, body: body, pending: true });
    send({ type: "message", conversation_id: p.id, client_id: id, body: body });
  }

  function flush(all) {
    var now = Date.now();
    for (var cid in panes) {
      var p = panes[cid];
      for (var id in p.pending) {
        if (all || now - p.pending[id].sent > 4000) {
          p.pending[id].sent = now;
          var pend = p.pending[id], frame = { type: "message", conversation_id: p.id, client_id: id, body: pend.body };
          if (pend.attachments) frame.attachment_ids = pend.attachments.map(function (a) { return a.id; });
          send(frame);
        }
      }
    }
  }
  setInterval(function () { flush(false); }, 2000);

  // --- socket ---
  function connect() {
    ws = new WebSocket(wsUrl);
    ws.onopen = function () {
      attempts = 0;
      connEl.textContent = "Connected";
      heartbeat();
      for (var id in panes) subscribe(panes[id], false);
      flush(true);
    };
    ws.onmessage = function (event) {
      var f = JSON.parse(event.data);
      if (f.type === "hello") {
        queue = {};
        (f.queue || []).forEach(function (c) { if (mine(c)) openAssigned(c, true); else queue[c.id] = c; });
        renderQueue();
        loadActive();
      } else if (f.type === "queue") onQueue(f);
      else if (f.type === "queue.batch") f.frames.forEach(onQueue);
      else if (f.type === "message") onMessage(f);
      else if (f.type === "sync") {
        // The server's channel layer had a blip: catch up if the chat moved on without us.
        var behind = panes[f.conversation_id];
        if (behind && f.last_seq > behind.lastSeq) {
          send({ type: "resume", conversation_id: behind.id, after_seq: behind.lastSeq });
        }
      } else if (f.type === "ack") {
        var p = panes[f.conversation_id];
        if (p) delete p.pending[f.client_id];
      } else if (f.type === "typing" && panes[f.conversation_id] && f.author.type === "visitor") {
        var pane = panes[f.conversation_id];
        pane.typing.textContent = f.author.name + " is typing\u2026";
        clearTimeout(pane.typingTimer);
        pane.typingTimer = setTimeout(function () { pane.typing.textContent = ""; }, 4000);
      } else if (f.type === "error") {
        connEl.textContent = f.detail;
        if (f.code === "bad_token") location.href = "/login/?next=/chats/";
      }
    };
    ws.onclose = function (event) {
      if (event.code === 4401) return;
      connEl.textContent = "Reconnecting\u2026";
      var delay = Math.min(30000, 500 * Math.pow(2, attempts++)) * (0.75 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }
  function heartbeat() {
    // Activity (visible page, recent input; static/js/activity.js) counts toward support hours.
    var act = window.SupportdeskActivity;
    send({ type: "heartbeat", status: presenceEl.value, visible: !document.hidden, idle_seconds: act ? act.idleSeconds() : null });
  }
  presenceEl.addEventListener("change", heartbeat);
  setInterval(heartbeat, 30000);
  connect();
})();
