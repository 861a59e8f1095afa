/* 校务 — score-entry grid (成绩录入表).
 *
 * Keyboard: arrows move between cells (left/right when the caret is at the edge of the text),
 * Enter moves down (Shift+Enter up), Tab follows the row, Esc restores the saved value.
 * Every cell is saved on its own (fetch POST, JSON) as it is left. The write names the version
 * of the score it was read at; a 409 answer means someone else changed it meanwhile: the cell
 * then shows who changed it to what, and offers to take their value or to overwrite it.
 * No inline script (CSP): the table carries the save URL and the CSRF token as data attributes.
 */
(function () {
  "use strict";

  var grid = document.getElementById("xw-score-grid");
  if (!grid) { return; }
  var saveUrl = grid.dataset.saveUrl;
  var csrf = grid.dataset.csrf;
  var statusLine = document.getElementById("xw-grid-status");
  var pending = 0;
  var queues = new WeakMap();

  function inputs() { return Array.prototype.slice.call(grid.querySelectorAll("input.xw-score")); }

  function position(input) {
    var cell = input.closest("td");
    var row = cell.parentElement;
    var column = Array.prototype.indexOf.call(row.children, cell);
    var rows = Array.prototype.slice.call(grid.tBodies[0].rows);
    return { row: rows.indexOf(row), column: column, rows: rows };
  }

  function editableAt(rows, rowIndex, column) {
    var row = rows[rowIndex];
    if (!row || !row.children[column]) { return null; }
    var input = row.children[column].querySelector("input.xw-score");
    return input && !input.readOnly ? input : null;
  }

  function moveVertical(input, step) {
    var at = position(input);
    for (var r = at.row + step; r >= 0 && r < at.rows.length; r += step) {
      var target = editableAt(at.rows, r, at.column);
      if (target) { target.focus(); return true; }
    }
    return false;
  }

  function moveHorizontal(input, step) {
    var all = inputs().filter(function (el) { return !el.readOnly; });
    var index = all.indexOf(input) + step;
    if (index >= 0 && index < all.length) { all[index].focus(); return true; }
    return false;
  }

  function setStatus(text, kind) {
    if (!statusLine) { return; }
    statusLine.textContent = text;
    statusLine.className = kind === "error" ? "text-danger" : (kind === "ok" ? "text-success" : "text-muted");
  }

  function label(input) { return input.getAttribute("aria-label") || ""; }

  function clearMarks(input) {
    var cell = input.closest("td");
    cell.classList.remove("xw-saving", "xw-saved", "xw-error", "xw-conflict");
    var box = cell.querySelector(".xw-conflict-box");
    if (box) { box.remove(); }
    input.removeAttribute("aria-invalid");
  }

  function showError(input, message) {
    var cell = input.closest("td");
    cell.classList.add("xw-error");
    input.setAttribute("aria-invalid", "true");
    input.title = message;
    setStatus(label(input) + "：" + message, "error");
  }

  function showConflict(input, answer, mine) {
    var cell = input.closest("td");
    cell.classList.add("xw-conflict");
    input.setAttribute("aria-invalid", "true");
    var box = document.createElement("div");
    box.className = "xw-conflict-box shadow-sm";
    box.setAttribute("role", "alert");
    var text = document.createElement("div");
    text.className = "xw-conflict-text";
    var who = answer.by || "他人";
    text.textContent = who + (answer.at ? "（" + answer.at + "）" : "") + "已改为“" +
      (answer.display || "空") + "”，您的“" + (mine || "空") + "”未保存。";
    box.appendChild(text);
    var take = document.createElement("button");
    take.type = "button";
    take.className = "btn btn-sm btn-outline-secondary me-1";
    take.textContent = "采用对方的值";
    take.addEventListener("mousedown", function (event) { event.preventDefault(); });
    take.addEventListener("click", function () {
      input.value = answer.display;
      input.dataset.version = String(answer.version);
      input.dataset.saved = answer.display;
      clearMarks(input);
      setStatus(label(input) + "：已采用" + who + "的值", "ok");
      input.focus();
    });
    var keep = document.createElement("button");
    keep.type = "button";
    keep.className = "btn btn-sm btn-warning";
    keep.textContent = "用我的值覆盖";
    keep.addEventListener("mousedown", function (event) { event.preventDefault(); });
    keep.addEventListener("click", function () {
      input.dataset.version = String(answer.version);
      input.value = mine;
      input.dataset.saved = answer.display;
      clearMarks(input);
      save(input);
    });
    box.appendChild(take);
    box.appendChild(keep);
    cell.appendChild(box);
    setStatus(label(input) + "：" + answer.error, "error");
  }

  function send(input, value) {
    var cell = input.closest("td");
    clearMarks(input);
    cell.classList.add("xw-saving");
    pending += 1;
    setStatus("正在保存……");
    return fetch(saveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify({
        candidate: Number(input.dataset.candidate),
        subject: Number(input.dataset.subject),
        version: Number(input.dataset.version || 0),
        value: value
      })
    }).then(function (response) {
      return response.json().catch(function () { return { ok: false, error: "服务器返回了无法识别的结果（" + response.status + "）。" }; })
        .then(function (answer) { return { status: response.status, answer: answer }; });
    }).then(function (result) {
      cell.classList.remove("xw-saving");
      var answer = result.answer;
      if (result.status === 200 && answer.ok) {
        input.dataset.version = String(answer.version);
        input.dataset.saved = answer.display;
        input.removeAttribute("title");
        if (input.value === value) { input.value = answer.display; }
        cell.classList.add("xw-saved");
        window.setTimeout(function () { cell.classList.remove("xw-saved"); }, 1200);
        setStatus(label(input) + (answer.changed ? "：已保存" : "：未变化"), "ok");
      } else if (result.status === 409) {
        showConflict(input, answer, value);
      } else {
        showError(input, answer.error || ("保存失败（" + result.status + "）"));
      }
    }).catch(function () {
      cell.classList.remove("xw-saving");
      showError(input, "网络错误，未保存；离开此格时会再试。");
    }).then(function () { pending -= 1; });
  }

  function save(input) {
    var value = input.value.trim();
    if (value === (input.dataset.saved || "")) {
      if (!input.closest("td").classList.contains("xw-conflict")) { clearMarks(input); }
      return;
    }
    if (input.closest("td").classList.contains("xw-conflict")) { return; }
    // One request at a time per cell, in the order the values were typed.
    var previous = queues.get(input) || Promise.resolve();
    var next = previous.then(function () {
      if (value === (input.dataset.saved || "")) { return undefined; }
      return send(input, value);
    });
    queues.set(input, next);
  }

  inputs().forEach(function (input) {
    input.dataset.saved = input.value;
    if (input.readOnly) { return; }
    input.addEventListener("focus", function () { input.select(); });
    input.addEventListener("blur", function () { save(input); });
    input.addEventListener("keydown", function (event) {
      var key = event.key;
      var atStart = input.selectionStart === 0 && input.selectionEnd === 0;
      var atEnd = input.selectionStart === input.value.length;
      var allSelected = input.selectionStart === 0 && input.selectionEnd === input.value.length;
      if (key === "ArrowDown" || (key === "Enter" && !event.shiftKey)) {
        event.preventDefault();
        moveVertical(input, 1);
      } else if (key === "ArrowUp" || (key === "Enter" && event.shiftKey)) {
        event.preventDefault();
        moveVertical(input, -1);
      } else if (key === "ArrowLeft" && (atStart || allSelected)) {
        event.preventDefault();
        moveHorizontal(input, -1);
      } else if (key === "ArrowRight" && (atEnd || allSelected)) {
        event.preventDefault();
        moveHorizontal(input, 1);
      } else if (key === "Escape") {
        input.value = input.dataset.saved || "";
        clearMarks(input);
        input.select();
      }
    });
  });

  window.addEventListener("beforeunload", function (event) {
    if (pending > 0) { event.preventDefault(); event.returnValue = ""; }
  });
})();
