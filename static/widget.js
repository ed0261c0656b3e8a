/* Supportdesk chat widget: <script src="BASE/widget.js" async></script>
 * Dependency-free. Lives in a shadow root so the host page's CSS cannot reach it.
 * Identity verification: set window.SupportdeskChat = {name, email, user_hash} before the tag,
 * with user_hash = hex HMAC-SHA256(email, SUPPORTDESK_WIDGET_SECRET) computed by the shop server,
 * or, to make a leaked one stop working, "<unix expiry>." + hex HMAC-SHA256(email + ":" + expiry).
 * Without a valid user_hash the email is only a claim until the visitor confirms an emailed code.
 * Routing: {team: "returns"} (or data-team="returns" on the tag) sends the chat to that team.
 * Protocol: every message carries a client_id and is resent until acked (the server stores it
 * once); messages are kept by server seq, and a gap or a reconnect sends {type:"resume"}. */
(function () {
  "use strict";
  if (window.__supportdeskChat) return;
  window.__supportdeskChat = true;

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var base = new URL(script ? script.src : "/widget.js", location.href).origin;
  var wsBase = base.replace(/^http/, "ws");
  var cfg = window.SupportdeskChat || {};
  // Which team answers (its slug): SupportdeskChat.team or <script data-team="returns">.
  var team = cfg.team || (script && script.getAttribute("data-team")) || "";
  var KEY = "supportdesk.chat:" + base;

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "{}") || {}; } catch (e) { return {}; }
  }
  function save() {
    try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  var state = load(); // {token, conversation_id, name, email}

  var ws = null, attempts = 0, retryTimer = null, lastSeq = 0, resumeAsked = 0;
  var seen = {}, pending = {}, nodes = {}, typingTimer = null, lastTyping = 0, agentsOnline = true;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text) node.textContent = text;
    return node;
  }

  var CSS =
    ":host{all:initial}*{box-sizing:border-box;font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif}" +
    ".launch{position:fixed;right:20px;bottom:20px;z-index:2147483646;border:0;border-radius:28px;padding:14px 20px;background:#1f5f4a;color:#fff;font-weight:600;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}" +
    ".launch:focus-visible,button:focus-visible,input:focus-visible,textarea:focus-visible{outline:3px solid #f2b233;outline-offset:2px}" +
    ".badge{display:inline-block;min-width:18px;margin-left:6px;border-radius:9px;background:#f2b233;color:#222;font-size:12px;padding:0 5px}" +
    ".panel{position:fixed;right:20px;bottom:84px;z-index:2147483647;width:360px;max-width:calc(100vw - 24px);height:520px;max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:#fff;color:#1d1d1d;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden}" +
    ".panel[hidden],[hidden]{display:none!important}" +
    ".head{display:flex;align-items:center;justify-content:space-between;padding:12px 14px;background:#1f5f4a;color:#fff}" +
    ".head h2{margin:0;font-size:16px;font-weight:600;color:#fff}" +
    ".x{background:none;border:0;color:#fff;font-size:22px;line-height:1;cursor:pointer;padding:2px 6px}" +
    ".status{padding:6px 14px;font-size:12px;color:#5b4a00;background:#fff6d6}.status:empty{display:none}" +
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:6px;background:#f6f7f6}" +
    ".m{max-width:82%;padding:8px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word;background:#fff;border:1px solid #e2e2e2;align-self:flex-start}" +
    ".m.visitor{align-self:flex-end;background:#dff1e9;border-color:#bfe0d1}.m.system{align-self:center;background:none;border:0;color:#666;font-size:12px;text-align:center}" +
    ".waiting{margin:8px 12px 0;padding:8px 10px;border-radius:8px;background:#fff8e6;border:1px solid #f0d9a0;font-size:13px}.at{display:block;font-size:10px;color:#666;margin-top:2px}.rate{flex:none;max-height:45%;overflow-y:auto}" +
    ".m.pending{opacity:.6}.m.failed{border-color:#c33}.who{display:block;font-size:11px;color:#666}" +
    ".typing{padding:0 14px 4px;font-size:12px;color:#666;min-height:16px}" +
    "form{display:flex;flex-direction:column;gap:8px;padding:12px}label{font-size:12px;color:#444;display:flex;flex-direction:column;gap:3px}" +
    "input,textarea{width:100%;padding:8px;border:1px solid #bbb;border-radius:6px;background:#fff;color:#1d1d1d}textarea{resize:none}" +
    ".send{display:flex;flex-direction:row;gap:6px;border-top:1px solid #e2e2e2;padding:8px}" +
    ".btn{border:0;border-radius:6px;padding:9px 14px;background:#1f5f4a;color:#fff;font-weight:600;cursor:pointer}.btn.link{background:none;color:#1f5f4a;padding:4px;text-decoration:underline}" +
    "p{margin:0 0 4px}.note{padding:12px;color:#333}" +
    ".rate{border-top:1px solid #e2e2e2}.stars{display:flex;gap:6px}.stars button{flex:1;padding:8px 0;border:1px solid #1f5f4a;border-radius:6px;background:#fff;color:#1f5f4a;font-weight:600;cursor:pointer}.stars button[aria-pressed=true]{background:#1f5f4a;color:#fff}" +
    ".files{display:flex;flex-wrap:wrap;gap:4px;margin-top:4px}.files img{max-width:160px;max-height:120px;border-radius:6px;cursor:pointer;display:block}.files button{background:none;border:0;padding:0;color:#1f5f4a;text-decoration:underline;cursor:pointer}progress{width:100%}.attach{font-size:18px;padding:4px 6px}" +
    ".hours{font-size:12px;color:#1f5f4a;font-weight:600}.acct{overflow-y:auto;flex:1}.order,.ticket{border:1px solid #e2e2e2;border-radius:6px;padding:8px;margin:6px 0}.acct-links{display:flex;gap:8px}" +
    ".help ul{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:6px}.help li{padding:6px 8px;border:1px solid #e2e2e2;border-radius:6px}.help a{color:#1f5f4a;font-weight:600}mark{background:#fff1a8;color:inherit}" +
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;max-width:100vw;height:100%;max-height:100%;border-radius:0}}";

  var host = el("div", { id: "supportdesk-chat" });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  root.appendChild(el("style", {}, CSS));

  var launcher = el("button", { class: "launch", type: "button", "aria-label": "Open chat with us", "aria-expanded": "false", "aria-controls": "sd-panel" }, "Chat with us");
  var badge = el("span", { class: "badge", hidden: "" });
  launcher.appendChild(badge);

  var panel = el("section", { class: "panel", id: "sd-panel", role: "dialog", "aria-label": "Chat with us", hidden: "" });
  var header = el("div", { class: "head" }); // not <header>: the shop page has its own banner
  header.appendChild(el("h2", {}, "Chat with us"));
  var closeBtn = el("button", { class: "x", type: "button", "aria-label": "Close chat" }, "\u00d7");
  header.appendChild(closeBtn);
  var status = el("div", { class: "status", role: "status", "aria-live": "polite" });

  // Pre-chat form.
  var pre = el("form", { "aria-label": "Start a chat" });
  pre.appendChild(el("p", {}, "Hi! Tell us who you are and what you need."));
  function field(form, label, name, type, required) {
    var l = el("label", {}, label);
    var input = el(type === "textarea" ? "textarea" : "input", { name: name, rows: "3" });
    if (type !== "textarea") input.type = type;
    if (required) input.required = true;
    l.appendChild(input);
    form.appendChild(l);
    return input;
  }
  var preName = field(pre, "Name", "name", "text", false);
  var preEmail = field(pre, "Email", "email", "email", false);
  var preQuestion = field(pre, "Your question", "question", "textarea", true);
  var helpBox = helpSuggest(preQuestion);
  pre.appendChild(helpBox.node);
  pre.appendChild(el("button", { class: "btn", type: "submit" }, "Start chat"));

  // Chat view.
  var chat = el("div", { hidden: "" });
  chat.style.cssText = "display:flex;flex-direction:column;flex:1;min-height:0";
  var log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Messages" });
  var typing = el("div", { class: "typing", "aria-live": "polite" });
  var composer = el("form", { class: "send", "aria-label": "Send a message" });
  var input = el("textarea", { rows: "2", "aria-label": "Type your message", placeholder: "Write a message\u2026" });
  var attachBtn = el("button", { class: "btn link attach", type: "button", "aria-label": "Attach a photo or PDF", title: "Attach a photo or PDF" }, "\ud83d\udcce");
  var picker = el("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf", multiple: "", hidden: "" });
  composer.appendChild(attachBtn);
  composer.appendChild(picker);
  composer.appendChild(input);
  composer.appendChild(el("button", { class: "btn", type: "submit" }, "Send"));
  var offlineLink = el("button", { class: "btn link", type: "button", hidden: "" }, "No one online? Leave a message");
  // An unverified email is only a claim: a one-time code emailed to it proves it (then the
  // desk links this chat to that customer's orders and history).
  var verify = el("form", { class: "note", "aria-label": "Confirm your email", hidden: "" });
  var verifyNote = el("p", {}, "Confirm your email so we can look up your orders.");
  var verifyAsk = el("button", { class: "btn link", type: "button" }, "Email me a code");
  var verifyCode = el("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", "aria-label": "Code from the email", placeholder: "123456", hidden: "" });
  var verifyGo = el("button", { class: "btn", type: "submit", hidden: "" }, "Confirm");
  [verifyNote, verifyAsk, verifyCode, verifyGo].forEach(function (n) { verify.appendChild(n); });
  chat.appendChild(verify);
  // Until an agent joins, the visitor is told someone is coming and how long that usually takes.
  var waiting = el("p", { class: "waiting", role: "status", hidden: "" });
  chat.appendChild(waiting);
  chat.appendChild(log);
  chat.appendChild(typing);
  chat.appendChild(offlineLink);
  chat.appendChild(composer);

  // CSAT: when the chat ends, 1-5 and a comment replace the composer (rating again changes it).
  var rate = el("form", { class: "rate", "aria-label": "Rate this chat", hidden: "" });
  rate.appendChild(el("p", {}, "How did we do? 1 is poor, 5 is great."));
  var stars = el("div", { class: "stars", role: "group", "aria-label": "Rating" });
  var rating = 0;
  [1, 2, 3, 4, 5].forEach(function (n) {
    var b = el("button", { type: "button", "aria-pressed": "false", "data-rating": n }, String(n));
    b.addEventListener("click", function () {
      rating = n;
      [].forEach.call(stars.children, function (c) { c.setAttribute("aria-pressed", String(c === b)); });
    });
    stars.appendChild(b);
  });
  rate.appendChild(stars);
  var rateComment = field(rate, "Comment (optional)", "comment", "textarea", false);
  rateComment.maxLength = 2000;
  var rateNote = el("p", { class: "who", role: "status" });
  rate.appendChild(el("button", { class: "btn", type: "submit" }, "Send rating"));
  rate.appendChild(rateNote);
  var again = el("button", { class: "btn link", type: "button" }, "Start a new chat");
  rate.appendChild(again);
  chat.appendChild(rate);

  // Offline form.
  var off = el("form", { "aria-label": "Leave a message", hidden: "" });
  off.appendChild(el("p", {}, "No one is online right now. Leave a message and we will answer by email."));
  var offName = field(off, "Name", "name", "text", false);
  var offEmail = field(off, "Email", "email", "email", true);
  var offMessage = field(off, "Message", "message", "textarea", true);
  off.appendChild(el("button", { class: "btn", type: "submit" }, "Send message"));
  var thanks = el("div", { class: "note", hidden: "", role: "status" });

  var acct = account();
  [header, status, pre, chat, off, thanks, acct.view].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(launcher);
  root.appendChild(panel);

  function show(view) {
    [pre, chat, off, thanks, acct.view].forEach(function (n) { n.hidden = n !== view; });
    chat.style.display = view === chat ? "flex" : "none";
  }

  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.firstChild.textContent = open ? "Close chat" : "Chat with us";
    // The accessible name holds the visible words (axe: label-content-name-mismatch).
    launcher.setAttribute("aria-label", open ? "Close chat" : "Open chat with us");
    if (open) {
      badge.hidden = true;
      badge.textContent = "";
      var first = panel.querySelector("form:not([hidden]) input, form:not([hidden]) textarea");
      if (!chat.hidden) first = input;
      if (first) first.focus();
      markRead();
    } else {
      launcher.focus();
    }
  }
  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  closeBtn.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") setOpen(false); });

  function api(path, body, token) {
    var headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    return fetch(base + "/api/v1/" + path, {
      method: "POST",
      headers: headers,
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.detail || "Request failed");
        return data;
      });
    });
  }

  // --- rendering ---
  function render(frame) {
    var node = nodes[frame.key];
    if (!node) {
      node = nodes[frame.key] = el("div", {});
      // Keep server order: insert before the first message with a higher seq, pending last.
      var after = null;
      if (frame.seq) {
        var kids = log.children;
        for (var i = 0; i < kids.length; i++) {
          var s = +kids[i].getAttribute("data-seq") || Infinity;
          if (s > frame.seq) { after = kids[i]; break; }
        }
      }
      log.insertBefore(node, after);
    }
    node.className = "m " + frame.kind + (frame.pending ? " pending" : "") + (frame.failed ? " failed" : "");
    if (frame.seq) node.setAttribute("data-seq", frame.seq);
    node.textContent = "";
    if (frame.kind === "agent") node.appendChild(el("span", { class: "who" }, frame.name));
    node.appendChild(document.createTextNode(frame.body));
    if (frame.progress != null) node.appendChild(el("progress", { max: "100", value: String(frame.progress), "aria-label": "Upload progress" }));
    if (frame.attachments && frame.attachments.length) node.appendChild(files(frame.attachments));
    if (frame.failed) node.appendChild(el("span", { class: "who" }, frame.failed));
    if (frame.at) node.appendChild(el("time", { class: "at", datetime: frame.at }, new Date(frame.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
    log.scrollTop = log.scrollHeight;
  }

  // --- files: fetched with the visitor token (no cookies cross sites), shown from blob URLs ---
  var blobs = {};
  function blob(url) {
    if (!blobs[url]) blobs[url] = fetch(base + url, { headers: { Authorization: "Bearer " + state.token } })
      .then(function (r) { if (!r.ok) throw new Error("File not available"); return r.blob(); })
      .then(function (b) { return URL.createObjectURL(b); });
    return blobs[url];
  }
  function download(a) {
    blob(a.url).then(function (href) {
      var link = el("a", { href: href, download: a.filename });
      root.appendChild(link);
      link.click();
      link.remove();
    }).catch(function (err) { status.textContent = err.message; });
  }
  function files(list) {
    var box = el("div", { class: "files" });
    list.forEach(function (a) {
      if (a.thumbnail_url) {
        var img = el("img", { alt: a.filename, title: a.filename, tabindex: "0" });
        blob(a.thumbnail_url).then(function (href) { img.src = href; }).catch(function () {});
        img.addEventListener("click", function () { download(a); });
        box.appendChild(img);
      } else {
        var b = el("button", { type: "button" }, a.filename);
        b.addEventListener("click", function () { download(a); });
        box.appendChild(b);
      }
    });
    return box;
  }

  function upload(file) {
    if (!/^(image\/(png|jpeg|gif|webp)|application\/pdf)$/.test(file.type)) {
      status.textContent = "You can send photos and PDFs.";
      return;
    }
    var id = uuid(), body = input.value.trim() || file.name;
    input.value = "";
    var shown = { key: id, kind: "visitor", body: body, pending: true, progress: 0 };
    render(shown);
    var xhr = new XMLHttpRequest(), form = new FormData();
    form.append("file", file);
    xhr.open("POST", base + "/api/v1/widget/uploads");
    xhr.setRequestHeader("Authorization", "Bearer " + state.token);
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { shown.progress = Math.round((100 * e.loaded) / e.total); render(shown); }
    };
    xhr.onload = function () {
      var d = {};
      try { d = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status !== 201) return render({ key: id, kind: "visitor", body: body, failed: d.detail || "Upload failed" });
      pending[id] = { body: body, attachments: [d], sent: 0 };
      render({ key: id, kind: "visitor", body: body, pending: true, attachments: [d] });
      flush(false);
    };
    xhr.onerror = function () { render({ key: id, kind: "visitor", body: body, failed: "Upload failed" }); };
    xhr.send(form);
  }
  attachBtn.addEventListener("click", function () { picker.click(); });
  picker.addEventListener("change", function () {
    [].forEach.call(picker.files, upload);
    picker.value = "";
  });

  function onMessage(f) {
    if (f.seq in seen) return;
    seen[f.seq] = true;
    if (f.client_id && pending[f.client_id]) delete pending[f.client_id];
    var key = f.client_id && nodes[f.client_id] ? f.client_id : "s" + f.seq;
    render({ key: key, seq: f.seq, kind: f.author.type, name: f.author.name, body: f.body, attachments: f.attachments, at: f.sent_at });
    if (f.author.type === "agent" || f.author.type === "system") setWaiting(false);
    while (seen[lastSeq + 1]) lastSeq++;
    if (f.seq > lastSeq && Date.now() - resumeAsked > 2000) resume(); // a gap: ask for it
    if (f.author.type === "agent") {
      typing.textContent = "";
      if (panel.hidden) {
        badge.hidden = false;
        badge.textContent = String((+badge.textContent || 0) + 1);
      } else {
        markRead();
      }
    }
  }

  function setWaiting(on) {
    waiting.hidden = !on;
    if (!on) return;
    var usual = state.usual_wait;
    waiting.textContent = "Waiting for an agent\u2026 " + (usual == null ? "Someone will be with you shortly." :
      usual < 90 ? "Usually answered within a minute or two." : "Usually answered in about " + Math.round(usual / 60) + " minutes.") +
      " You can keep writing meanwhile.";
  }

  function markRead() {
    if (lastSeq && ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "read", seq: lastSeq }));
  }

  function resume() {
    resumeAsked = Date.now();
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "resume", after_seq: lastSeq }));
  }

  // --- the socket ---
  function connect() {
    if (!state.token) return;
    clearTimeout(retryTimer);
    try {
      ws = new WebSocket(wsBase + "/ws/chat/?token=" + encodeURIComponent(state.token));
    } catch (e) {
      return retry();
    }
    ws.onopen = function () {
      attempts = 0;
      status.textContent = "";
      resume();
      flush(true);
    };
    ws.onmessage = function (event) {
      var f;
      try { f = JSON.parse(event.data); } catch (e) { return; }
      if (f.type === "message") onMessage(f);
      else if (f.type === "ack") {
        delete pending[f.client_id];
      } else if (f.type === "sync") {
        // The server's channel layer had a blip: catch up if the chat moved on without us.
        if (f.last_seq > lastSeq) resume();
      } else if (f.type === "ended") {
        ended();
      } else if (f.type === "hello") {
        agentsOnline = !!f.agents_online;
        setWaiting(f.status === "waiting");
        offlineLink.hidden = agentsOnline;
        if (f.status === "ended") ended();
      } else if (f.type === "token") {
        state.token = f.visitor_token;
        save();
      } else if (f.type === "typing" && f.author && f.author.type === "agent") {
        typing.textContent = f.author.name + " is typing\u2026";
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typing.textContent = ""; }, 4000);
      } else if (f.type === "error") {
        var p = f.client_id && pending[f.client_id];
        if (p && f.code !== "rate_limited") {
          delete pending[f.client_id];
          render({ key: f.client_id, kind: "visitor", body: p.body, attachments: p.attachments, failed: f.detail });
        }
        if (f.code === "chat_ended") ended();
      }
    };
    ws.onclose = function (event) {
      ws = null;
      if (event.code === 4401) {
        // The token is no longer valid: start over with the pre-chat form.
        state = {};
        save();
        status.textContent = "Your chat session expired. Please start a new chat.";
        show(pre);
        return;
      }
      retry();
    };
  }

  function retry() {
    status.textContent = "Reconnecting\u2026";
    var delay = Math.min(30000, 500 * Math.pow(2, attempts++)) * (0.75 + Math.random() / 2);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
  }

  // Resend unacked messages: at once after a (re)connect, later every few seconds.
  function flush(all) {
    if (!ws || ws.readyState !== 1) return;
    var now = Date.now();
    for (var id in pending) {
      var p = pending[id];
      if (all || now - p.sent > 4000) {
        p.sent = now;
        var frame = { type: "message", client_id: id, body: p.body };
        if (p.attachments) frame.attachment_ids = p.attachments.map(function (a) { return a.id; });
        ws.send(JSON.stringify(frame));
      }
    }
  }
  setInterval(function () { flush(false); }, 2000);

  function send(body) {
    body = body.trim();
    if (!body) return;
    var id = uuid();
    pending[id] = { body: body, sent: 0 };
    render({ key: id, kind: "visitor", body: body, pending: true });
    flush(false);
  }

  function openChat() {
    show(chat);
    if (!ws) connect();
  }

  // --- forms ---
  pre.addEventListener("submit", function (e) {
    e.preventDefault();
    var question = preQuestion.value;
    helpBox.stillNeedHelp();
    var body = {
      name: preName.value || cfg.name || "",
      email: preEmail.value || cfg.email || "",
      page_url: location.href,
      user_hash: cfg.user_hash || "",
      visitor_token: state.token || "",
      team: team,
    };
    api("widget/sessions", body).then(function (data) {
      state = { token: data.visitor_token, conversation_id: data.conversation_id, name: body.name, email: body.email, verified: data.verified, usual_wait: data.usual_wait_seconds };
      save();
      verify.hidden = !body.email || data.verified;
      if (!data.agents_online || data.open === false) {
        if (data.open === false) hoursNote(data.next_open_at);
        offName.value = body.name;
        offEmail.value = body.email;
        offMessage.value = question;
        show(off);
        return;
      }
      openChat();
      send(question);
      preQuestion.value = "";
      input.focus();
    }).catch(function (err) { status.textContent = err.message; });
  });

  verifyAsk.addEventListener("click", function () {
    api("widget/verification", {}, state.token).then(function (d) {
      verifyNote.textContent = "We emailed a code to " + d.sent_to + ".";
      verifyCode.hidden = verifyGo.hidden = false;
      verifyCode.focus();
    }).catch(function (err) { verifyNote.textContent = err.message; });
  });
  verify.addEventListener("submit", function (e) {
    e.preventDefault();
    api("widget/verification/confirm", { code: verifyCode.value }, state.token).then(function (d) {
      state.token = d.visitor_token;
      state.verified = true;
      save();
      verify.hidden = true;
    }).catch(function (err) { verifyNote.textContent = err.message; });
  });

  composer.addEventListener("submit", function (e) {
    e.preventDefault();
    send(input.value);
    input.value = "";
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      composer.requestSubmit ? composer.requestSubmit() : composer.dispatchEvent(new Event("submit"));
    }
  });
  input.addEventListener("paste", function (e) {
    var list = e.clipboardData && e.clipboardData.files;
    if (!list || !list.length) return; // text pastes as usual
    e.preventDefault();
    [].forEach.call(list, upload);
  });
  input.addEventListener("input", function () {
    if (ws && ws.readyState === 1 && Date.now() - lastTyping > 2000) {
      lastTyping = Date.now();
      ws.send(JSON.stringify({ type: "typing" }));
    }
  });
  offlineLink.addEventListener("click", function () {
    offName.value = state.name || "";
    offEmail.value = state.email || "";
    show(off);
  });
  off.addEventListener("submit", function (e) {
    e.preventDefault();
    api("widget/offline", { name: offName.value, email: offEmail.value, message: offMessage.value, page_url: location.href })
      .then(function () {
        thanks.textContent = "Thanks! We got your message and will answer by email at " + offEmail.value + ".";
        show(thanks);
      })
      .catch(function (err) { status.textContent = err.message; });
  });

  function ended() {
    composer.hidden = offlineLink.hidden = true;
    setWaiting(false);
    typing.textContent = "";
    rate.hidden = false;
  }
  rate.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!rating) { rateNote.textContent = "Choose a rating from 1 to 5."; return; }
    api("widget/csat", { visitor_token: state.token, rating: rating, comment: rateComment.value })
      .then(function (d) { rateNote.textContent = "Thank you! You rated this chat " + d.rating + " of 5. You can change it for 7 days."; })
      .catch(function (err) { rateNote.textContent = err.message; });
  });
  again.addEventListener("click", function () {
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    state = { name: state.name, email: state.email };
    save();
    log.textContent = "";
    seen = {}; pending = {}; nodes = {}; lastSeq = 0;
    composer.hidden = false;
    rate.hidden = true;
    show(pre);
  });

  if (cfg.name) preName.value = cfg.name;
  if (cfg.email) preEmail.value = cfg.email;

  // --- the verified visitor's account: "My orders" and "Earlier conversations" ---
  // Shown only when the shop signed the visitor in (user_hash). The visitor token (from
  // POST widget/sessions; an empty waiting chat is invisible to agents) is sent as a Bearer token.
  function account() {
    var view = el("div", { class: "note acct", hidden: "" });
    var links = el("p", { class: "acct-links" });
    if (cfg.user_hash && cfg.email) {
      [["My orders", orders], ["Earlier conversations", earlier]].forEach(function (pair) {
        var b = el("button", { class: "btn link", type: "button" }, pair[0]);
        b.addEventListener("click", pair[1]);
        links.appendChild(b);
      });
      pre.insertBefore(links, pre.firstChild.nextSibling);
    }
    function session() {
      if (state.token) return Promise.resolve(state.token);
      return api("widget/sessions", { name: cfg.name || "", email: cfg.email, page_url: location.href, user_hash: cfg.user_hash })
        .then(function (d) { state = { token: d.visitor_token, conversation_id: d.conversation_id, name: cfg.name || "", email: cfg.email }; save(); return d.visitor_token; });
    }
    function call(method, path, body) {
      return session().then(function (token) {
        return fetch(base + "/api/v1/widget/" + path, {
          method: method, body: body ? JSON.stringify(body) : undefined,
          headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
        }).then(function (r) { return r.json().then(function (d) { if (!r.ok) throw new Error(d.detail); return d; }); });
      });
    }
    function page(title) {
      view.textContent = "";
      var back = el("button", { class: "btn link", type: "button" }, "\u2190 Back");
      back.addEventListener("click", function () { show(pre); });
      view.appendChild(back);
      view.appendChild(el("h3", {}, title));
      show(view);
      return view;
    }
    function fail(err) { status.textContent = err.message; }
    function orders() {
      call("GET", "orders").then(function (d) {
        var v = page("My orders");
        if (!d.items.length) v.appendChild(el("p", {}, "No orders yet."));
        d.items.forEach(function (o) {
          var card = el("div", { class: "order", "data-order": o.external_id });
          card.appendChild(el("strong", {}, "Order " + o.external_id));
          card.appendChild(el("p", {}, o.status + " \u00b7 " + o.total + " " + o.currency + " \u00b7 " + new Date(o.placed_at).toLocaleDateString()));
          card.appendChild(el("p", { class: "who" }, o.items.map(function (i) { return i.quantity + " \u00d7 " + i.name; }).join(", ")));
          o.shipments.forEach(function (sh) {
            var line = el("p", {}, (sh.carrier || "Shipment") + " \u00b7 " + sh.status + (sh.promised_by ? " \u00b7 due " + new Date(sh.promised_by).toLocaleDateString() : "") + " \u00b7 ");
            line.appendChild(sh.tracking_url ? el("a", { href: sh.tracking_url, target: "_blank", rel: "noopener" }, "Track " + sh.tracking) : document.createTextNode(sh.tracking));
            card.appendChild(line);
          });
          var ask = el("button", { class: "btn", type: "button" }, "Ask about this order");
          ask.addEventListener("click", function () {
            call("POST", "orders/" + encodeURIComponent(o.external_id) + "/ask").then(function () {
              show(pre);
              preQuestion.value = "About order " + o.external_id + ": ";
              preQuestion.focus();
            }).catch(fail);
          });
          card.appendChild(ask);
          v.appendChild(card);
        });
      }).catch(fail);
    }
    function earlier() {
      call("GET", "history").then(function (d) {
        var v = page("Earlier conversations");
        if (!d.chats.length && !d.tickets.length) v.appendChild(el("p", {}, "Nothing yet."));
        d.chats.forEach(function (c) {
          var b = el("button", { class: "btn link", type: "button" }, "Chat of " + new Date(c.created_at).toLocaleString());
          b.addEventListener("click", function () {
            call("GET", "history/chats/" + c.id).then(function (t) {
              var tv = page("Chat of " + new Date(t.created_at).toLocaleString());
              t.messages.forEach(function (m) {
                var line = el("div", { class: "m " + m.author_type });
                line.appendChild(el("span", { class: "who" }, m.author_name));
                line.appendChild(document.createTextNode(m.body));
                tv.appendChild(line);
              });
            }).catch(fail);
          });
          v.appendChild(el("p", {})).appendChild(b);
        });
        d.tickets.forEach(function (t) {
          var f = el("form", { class: "ticket", "aria-label": t.subject });
          f.appendChild(el("strong", {}, t.subject + " (" + t.status + ")"));
          var msg = field(f, "Write again to reopen", "message", "textarea", true);
          f.appendChild(el("button", { class: "btn", type: "submit" }, "Reopen"));
          f.addEventListener("submit", function (e) {
            e.preventDefault();
            call("POST", "history/tickets/" + t.id + "/reopen", { message: msg.value }).then(function (r) {
              f.textContent = "";
              f.appendChild(el("p", { role: "status" }, "Reopened: we will answer by email (" + r.status + ")."));
            }).catch(fail);
          });
          v.appendChild(f);
        });
      }).catch(fail);
    }
    return { view: view };
  }

  // --- business hours: "We're online" / "We're away, back at 09:00 (your time)" ---
  var hoursLine = el("p", { class: "hours", role: "status" });
  pre.insertBefore(hoursLine, pre.firstChild.nextSibling);
  function hoursNote(nextOpen) {
    var text = "We're away";
    if (nextOpen) {
      var at = new Date(nextOpen), now = new Date();
      var when = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      if (at.toDateString() !== now.toDateString()) when = at.toLocaleDateString([], { weekday: "long" }) + " " + when;
      text += ", back at " + when + " (your time)";
    }
    hoursLine.textContent = text + ".";
    off.firstChild.textContent = text + ". Leave a message and we will answer by email.";
  }
  function checkHours() {
    fetch(base + "/api/v1/business-hours").then(function (r) { return r.json(); }).then(function (h) {
      if (h.open) hoursLine.textContent = "We're online.";
      else hoursNote(h.next_open_at);
    }).catch(function () { /* unknown: say nothing */ });
  }
  checkHours();

  // --- help center suggestions (before a chat starts) ---
  // As the visitor types the question, a few published articles (GET /api/v1/help/articles, in
  // the widget's language) are offered; "This answered my question" is counted per article, and
  // starting the chat anyway after opening one counts "I still need help" for it.
  function helpLang() {
    return cfg.lang || document.documentElement.lang || navigator.language || "";
  }
  function helpSuggest(field) {
    var box = el("div", { class: "help", "aria-live": "polite", hidden: "" });
    var list = el("ul", { "aria-label": "Suggested articles" });
    box.appendChild(el("p", { class: "who" }, "These articles may help:"));
    box.appendChild(list);
    var timer = null, seq = 0, opened = {};
    function feedback(id, helpful) {
      return fetch(base + "/api/v1/help/articles/" + id + "/feedback", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ helpful: helpful }),
      }).catch(function () { /* counting is best effort */ });
    }
    function snippet(html) { // the server escapes the text and marks words with <mark>
      var span = el("span", { class: "who" });
      html.split(/(<mark>.*?<\/mark>)/).forEach(function (part) {
        var m = /^<mark>(.*)<\/mark>$/.exec(part);
        var text = new DOMParser().parseFromString(m ? m[1] : part, "text/html").documentElement.textContent;
        span.appendChild(m ? el("mark", {}, text) : document.createTextNode(text));
      });
      return span;
    }
    function render(items) {
      list.textContent = "";
      items.forEach(function (a) {
        var li = el("li", { "data-article": a.id });
        var link = el("a", { href: a.url, target: "_blank", rel: "noopener" }, a.title);
        var yes = el("button", { class: "btn link", type: "button", hidden: "" }, "This answered my question");
        link.addEventListener("click", function () { opened[a.id] = true; yes.hidden = false; });
        yes.addEventListener("click", function () {
          delete opened[a.id];
          feedback(a.id, true);
          yes.replaceWith(el("span", { class: "who", role: "status" }, "Glad it helped!"));
        });
        li.appendChild(link);
        li.appendChild(snippet(a.snippet || ""));
        li.appendChild(yes);
        list.appendChild(li);
      });
      box.hidden = !items.length;
    }
    field.addEventListener("input", function () {
      clearTimeout(timer);
      var q = field.value.trim(), mine = ++seq;
      if (q.length < 3) { render([]); return; }
      timer = setTimeout(function () {
        fetch(base + "/api/v1/help/articles?limit=3&lang=" + encodeURIComponent(helpLang()) + "&q=" + encodeURIComponent(q.slice(0, 200)))
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (d) { if (mine === seq) render(d.items || []); })
          .catch(function () { /* no suggestions: the form works as before */ });
      }, 350);
    });
    return {
      node: box,
      stillNeedHelp: function () {
        for (var id in opened) feedback(id, false);
        opened = {};
        render([]);
      },
    };
  }

  function mount() {
    document.body.appendChild(host);
    if (state.token) openChat(); // a reload or a new tab continues the same conversation
    else show(pre);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
