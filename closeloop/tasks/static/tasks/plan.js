// Board drag-and-drop and respond-by countdowns. Our own small script: without it the board's
// "move to" menus post plain forms and the countdowns show the time at page load.
(function () {
  "use strict";

  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // -- countdowns ----------------------------------------------------------------------
  function fmt(seconds, el) {
    var s = Math.abs(seconds), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    // Unit templates come from the page, in the person's language.
    function unit(name, fallback) {
      return (el.getAttribute(name) || fallback).replace("%(d)s", d).replace("%(h)s", h).replace("%(m)s", m);
    }
    var left = d ? unit("data-dh", "%(d)s d %(h)s h") : (h ? unit("data-hm", "%(h)s h %(m)s min") : unit("data-m", "%(m)s min"));
    var tpl = seconds < 0 ? el.getAttribute("data-late") : el.getAttribute("data-left");
    return (tpl || "%(left)s").replace("%(left)s", left);
  }
  function tick() {
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var secs = Math.round((new Date(el.getAttribute("data-deadline")) - new Date()) / 1000);
      el.textContent = fmt(secs, el);
      el.classList.toggle("countdown--late", secs < 0);
      el.classList.toggle("countdown--soon", secs >= 0 && secs < 4 * 3600);
    });
  }
  setInterval(tick, 30000);

  // -- board ---------------------------------------------------------------------------
  var board = null, dragged = null;

  function showError(msg) {
    var box = document.querySelector(".board-error");
    if (!box) return;
    box.querySelector(".board-error__text").textContent = msg;
    box.hidden = false;
  }
  function count(col, delta) {
    var c = col.querySelector(".board-col__head .count");
    if (c) c.textContent = String(Math.max(0, parseInt(c.textContent, 10) + delta));
  }

  function move(card, to, targetCol, note) {
    var origin = card.parentNode, next = card.nextSibling, fromCol = card.closest(".board-col");
    var needs = (board.getAttribute("data-needs-note") || "").split(" ");
    if (note === undefined) {
      note = "";
      if (needs.indexOf(to) >= 0) {
        note = window.prompt(board.getAttribute("data-note-prompt")) || "";
        if (!note.trim()) return;
      }
    }
    // Optimistic: the card moves now and snaps back if the server refuses.
    // (Cancelled has no column: the card leaves the board.)
    if (targetCol) { targetCol.querySelector(".board-col__cards").prepend(card); count(targetCol, 1); }
    else card.hidden = true;
    count(fromCol, -1);
    fetch(board.getAttribute("data-api") + card.getAttribute("data-task") + "/transition", {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf(), "Accept": "application/json"},
      body: JSON.stringify({to: to, note: note, version: parseInt(card.getAttribute("data-version"), 10)})
    }).then(function (r) {
      return r.json().then(function (body) { return {ok: r.ok, body: body}; });
    }).then(function (res) {
      if (res.ok) {
        card.setAttribute("data-version", res.body.version);
        card.setAttribute("data-moves", (res.body.allowed_transitions || []).join(" "));
        card.setAttribute("draggable", res.body.allowed_transitions && res.body.allowed_transitions.length ? "true" : "false");
        var hideBox = document.querySelector(".board-error"); if (hideBox) hideBox.hidden = true;
        return;
      }
      throw new Error(res.body && res.body.message ? res.body.message : "");
    }).catch(function (err) {
      origin.insertBefore(card, next);
      card.hidden = false;
      if (targetCol) count(targetCol, -1);
      count(fromCol, 1);
      card.classList.add("is-refused");
      setTimeout(function () { card.classList.remove("is-refused"); }, 600);
      // Named: on a phone the message shows at the foot of the screen, away from the card.
      var code = card.querySelector(".board-card__top .code");
      var title = card.querySelector(".board-card__title");
      var named = (code ? code.textContent + " " : "") + (title ? title.textContent : "");
      showError(board.getAttribute("data-refused") + " " + named + " — " + (err.message || ""));
    });
  }

  function initBoard() {
    board = document.querySelector(".board[data-api]");
    if (!board) return;
    board.addEventListener("dragstart", function (ev) {
      var card = ev.target.closest && ev.target.closest(".board-card");
      if (!card) return;
      dragged = card;
      card.classList.add("is-dragging");
      ev.dataTransfer.effectAllowed = "move";
      ev.dataTransfer.setData("text/plain", card.getAttribute("data-task"));
    });
    board.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("is-dragging");
      board.querySelectorAll(".is-target").forEach(function (c) { c.classList.remove("is-target"); });
      dragged = null;
    });
    board.addEventListener("dragover", function (ev) {
      var col = ev.target.closest(".board-col");
      if (!col || !dragged) return;
      ev.preventDefault();  // every column is a drop target: the server decides, and says why not
      board.querySelectorAll(".is-target").forEach(function (c) { if (c !== col) c.classList.remove("is-target"); });
      col.classList.add("is-target");
    });
    board.addEventListener("drop", function (ev) {
      var col = ev.target.closest(".board-col");
      if (!col || !dragged) return;
      ev.preventDefault();
      col.classList.remove("is-target");
      var card = dragged;
      if (card.closest(".board-col") === col) return;
      move(card, col.getAttribute("data-status"), col);
    });
    // The "move to" menu: the same call, so a phone gets the same snap-back and reason.
    board.addEventListener("submit", function (ev) {
      var form = ev.target.closest("form.board-move");
      if (!form) return;
      ev.preventDefault();
      var to = form.querySelector("select[name=to]").value;
      var card = form.closest(".board-card");
      var col = board.querySelector('.board-col[data-status="' + to + '"]');
      var noteInput = form.querySelector("input[name=note]");
      form.closest("details").removeAttribute("open");
      // The menu asked for the reason itself, where the move needs one.
      move(card, to, col, noteInput ? noteInput.value : "");
    });
  }

  document.addEventListener("DOMContentLoaded", function () { tick(); initBoard(); });
})();

// The timeline opens on today: scroll the bars so today's line sits near the left edge.
(function () {
  "use strict";
  function toToday() {
    document.querySelectorAll(".timeline-scroll[data-today-x]").forEach(function (box) {
      var x = parseFloat(box.getAttribute("data-today-x"));
      if (!isNaN(x)) box.scrollLeft = Math.max(0, x - 48);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", toToday);
  else toToday();
})();
