// The ticket page: the composer shows which mode it is in. A note is tinted, says "Add note" and has
// no status picker, so nobody sends a public reply thinking it is a note (or the other way round).
(function () {
  "use strict";
  var reply = document.getElementById("reply");
  if (!reply) return;
  var send = reply.querySelector("button[name=send]");
  function sync() {
    var checked = reply.querySelector("input[name=internal]:checked");
    var note = checked && checked.value === "1";
    reply.classList.toggle("note-mode", note);
    if (send) send.textContent = note ? send.dataset.noteLabel : send.dataset.replyLabel;
    // A note changes no status: the picker is hidden and not submitted.
    var status = reply.querySelector("select[name=status]");
    if (status) status.disabled = note;
    var body = reply.querySelector("textarea[name=body]");
    if (body) body.placeholder = note ? "Write a note for your team… (only agents see it)" : "Write a reply… (r) · type / for a snippet";
  }
  reply.addEventListener("change", function (event) {
    if (event.target.name === "internal") sync();
  });
  sync();

  // Keyboard: Ctrl/Cmd+Enter sends from the composer; outside a field, n writes a note,
  // a assigns the ticket to me and s jumps to the status (r, Esc: static/js/inbox.js).
  var props = document.querySelector("form.ticket-props");
  function typing(node) {
    return node && (node.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(node.tagName));
  }
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && reply.contains(e.target)) {
      e.preventDefault();
      if (send) send.click();
      return;
    }
    if (e.metaKey || e.ctrlKey || e.altKey || typing(e.target)) return;
    if (e.key === "n") {
      var note = reply.querySelector("input[name=internal][value='1']");
      if (note) { e.preventDefault(); note.checked = true; sync(); reply.querySelector("textarea[name=body]").focus(); }
    } else if (e.key === "a" && props) {
      var assignee = props.querySelector("select[name=assignee]");
      var me = document.querySelector("[data-user-id]");
      if (assignee && me && assignee.value !== me.dataset.userId) {
        assignee.value = me.dataset.userId;
        assignee.dispatchEvent(new Event("change", { bubbles: true }));
      }
    } else if (e.key === "s" && props) {
      var status = props.querySelector("select[name=status]");
      if (status) { e.preventDefault(); status.focus(); }
    }
  });
})();
