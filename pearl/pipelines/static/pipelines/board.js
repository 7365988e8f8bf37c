/* The pipeline board: drag a card to another column to move the opportunity.
 *
 * Pointer Events, so a mouse drags the whole card and a finger or pen drags it by its ⠿ handle (the
 * rest of a card scrolls the board as usual on a phone). A drop POSTs the move with the CSRF token and
 * the card's version, asking for JSON: on success the server answers with the refreshed board (totals
 * included); on a refusal the card goes back and the message shows. A lost stage without a reason asks
 * for the reason and tries again. Without JavaScript, each card's "Move to…" form does the same.
 */
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var alertBox = document.getElementById("board-alert");
  var THRESHOLD = 6; // pixels before a press becomes a drag (a click stays a click)
  var EDGE = 48; // pixels from the screen's edge where the board scrolls while dragging
  var drag = null;
  var suppressClick = false;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      var input = document.querySelector("input[name=csrfmiddlewaretoken]");
      return input ? input.value : "";
    }
  }

  function showAlert(text) {
    if (!alertBox) return;
    alertBox.textContent = text || "";
    alertBox.hidden = !text;
  }

  function columnAt(x, y, card) {
    var stack = document.elementsFromPoint(x, y);
    for (var i = 0; i < stack.length; i++) {
      if (card.contains(stack[i])) continue;
      var column = stack[i].closest(".board-column");
      if (column && board.contains(column)) return column;
    }
    return null;
  }

  function clearTargets() {
    board.querySelectorAll(".drop-target").forEach(function (el) { el.classList.remove("drop-target"); });
  }

  function release(card) {
    card.classList.remove("dragging");
    card.style.position = card.style.left = card.style.top = card.style.width = card.style.zIndex = "";
  }

  function putBack(card, origin) {
    origin.parent.insertBefore(card, origin.next && origin.next.parentNode === origin.parent ? origin.next : null);
  }

  function filterParams(params) {
    var form = document.querySelector(".board-filters");
    if (!form) return;
    new FormData(form).forEach(function (value, key) { if (value) params.append(key, value); });
  }

  function send(card, stage, reason, origin) {
    var params = new URLSearchParams();
    params.append("stage", stage);
    params.append("version", card.dataset.version);
    params.append("loss_reason", reason || "");
    filterParams(params);
    card.setAttribute("aria-busy", "true");
    return fetch(card.dataset.moveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "X-CSRFToken": csrfToken(),
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: params.toString(),
    }).then(function (response) {
      card.removeAttribute("aria-busy");
      if (response.ok) {
        return response.text().then(function (html) {
          board.innerHTML = html;
          showAlert("");
        });
      }
      return response.json().then(function (problem) {
        if (problem.code === "loss_reason_required") {
          var why = window.prompt(problem.detail + "\n" + (board.dataset.lossPrompt || ""), "");
          if (why && why.trim()) return send(card, stage, why.trim(), origin);
        }
        putBack(card, origin);
        showAlert(problem.detail || board.dataset.failed);
      });
    }).catch(function () {
      card.removeAttribute("aria-busy");
      putBack(card, origin);
      showAlert(board.dataset.failed);
    });
  }

  board.addEventListener("pointerdown", function (event) {
    var card = event.target.closest(".opp-card");
    if (!card || drag || event.button !== 0 || !card.dataset.moveUrl) return;
    if (event.target.closest("a, button, select, input, textarea, summary, details[open] form")) return;
    if (event.pointerType !== "mouse" && !event.target.closest(".drag-handle")) return;
    drag = { card: card, id: event.pointerId, x0: event.clientX, y0: event.clientY, active: false };
    if (event.pointerType !== "mouse") event.preventDefault();
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag || event.pointerId !== drag.id) return;
    var dx = event.clientX - drag.x0;
    var dy = event.clientY - drag.y0;
    if (!drag.active) {
      if (Math.abs(dx) + Math.abs(dy) < THRESHOLD) return;
      var rect = drag.card.getBoundingClientRect();
      drag.active = true;
      drag.rect = rect;
      drag.origin = { parent: drag.card.parentNode, next: drag.card.nextSibling };
      drag.card.classList.add("dragging");
      drag.card.style.width = rect.width + "px";
      drag.card.style.position = "fixed";
      drag.card.style.zIndex = "1000";
    }
    event.preventDefault();
    drag.card.style.left = drag.rect.left + dx + "px";
    drag.card.style.top = drag.rect.top + dy + "px";
    var scroller = board.querySelector(".board-columns");
    if (scroller) {
      if (event.clientX > window.innerWidth - EDGE) scroller.scrollLeft += 16;
      else if (event.clientX < EDGE) scroller.scrollLeft -= 16;
    }
    clearTargets();
    var column = columnAt(event.clientX, event.clientY, drag.card);
    if (column && column.dataset.stage !== drag.card.dataset.stage) column.classList.add("drop-target");
  }, { passive: false });

  function finish(event, cancelled) {
    if (!drag || event.pointerId !== drag.id) return;
    var current = drag;
    drag = null;
    clearTargets();
    if (!current.active) return;
    suppressClick = true;
    window.setTimeout(function () { suppressClick = false; }, 0);
    var column = cancelled ? null : columnAt(event.clientX, event.clientY, current.card);
    release(current.card);
    if (!column || column.dataset.stage === current.card.dataset.stage) return;
    var cards = column.querySelector(".column-cards");
    cards.insertBefore(current.card, cards.firstChild); // shown where it goes while the server decides
    send(current.card, column.dataset.stage, "", current.origin);
  }

  document.addEventListener("pointerup", function (event) { finish(event, false); });
  document.addEventListener("pointercancel", function (event) { finish(event, true); });
  board.addEventListener("click", function (event) {
    if (suppressClick) { event.preventDefault(); event.stopPropagation(); }
  }, true);
})();
