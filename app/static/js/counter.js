// Counter workspace: save each answer the moment it is entered, then redraw the
// questions and the side panel from the server's answer (no page reload).
(function () {
  "use strict";
  const questions = document.getElementById("questions");
  const panel = document.getElementById("panel");
  if (!questions) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const lastSent = new Map();

  // Where the clerk is: every interview row, role question and the add-member form, in
  // reading order, each with a name that survives a redraw.
  const ROWS = "form.q-row, form.role-row, form.member-form";
  const OPEN = "form.q-row.asked, form.role-row";

  function rowName(form) {
    if (form.classList.contains("q-row")) return "f:" + form.dataset.fact;
    if (form.classList.contains("role-row")) return "r:" + form.dataset.url;
    return "m:" + (form.dataset.url || "add");
  }

  function rowFor(fact) {
    return Array.from(questions.querySelectorAll("form.q-row")).find((f) => f.dataset.fact === fact);
  }

  // Before a save: the rows above the one being saved (an answered row moves down among
  // the answered ones, so its own new place says nothing), and which rows were open.
  function place(form) {
    const rows = Array.from(questions.querySelectorAll(ROWS));
    const upto = rows.slice(0, Math.max(0, rows.indexOf(form))).map(rowName);
    const open = new Set(Array.from(questions.querySelectorAll(OPEN)).map(rowName));
    return { upto: new Set(upto), self: rowName(form), open: open };
  }

  function firstInput(form) {
    const checked = form.querySelector("input[type=radio]:checked");
    return checked || form.querySelector("input:not([type=hidden]), select, textarea");
  }

  // After a redraw: a question that this answer opened above the cursor comes first, then
  // the next open question below it, then the first open one; none left: the panel.
  function focusNext(where) {
    const rows = Array.from(questions.querySelectorAll(ROWS));
    let at = -1;
    rows.forEach((row, i) => {
      if (where.upto.has(rowName(row))) at = i;
    });
    const open = rows.filter((row) => row.matches(OPEN) && rowName(row) !== where.self);
    const index = (row) => rows.indexOf(row);
    const next =
      open.find((row) => index(row) <= at && !where.open.has(rowName(row))) ||
      open.find((row) => index(row) > at) ||
      open[0];
    const input = next && firstInput(next);
    if (input) {
      input.focus();
      // An offered answer (候補) is selected: Enter keeps it, typing replaces it.
      if (next.querySelector(".suggestion") && input.select) input.select();
      input.scrollIntoView({ block: "nearest" });
      return;
    }
    const done = document.getElementById("proc-h");
    if (done) done.focus();
  }

  function announce(text) {
    const live = document.getElementById("announce");
    if (live) live.textContent = text;
  }

  function showMessage(form, text, isError) {
    const msg = form.querySelector(".q-msg");
    if (msg) {
      msg.textContent = text;
      msg.classList.toggle("error", isError);
    }
    form.querySelectorAll("input, select").forEach((el) => {
      if (el.type !== "hidden") el.toggleAttribute("aria-invalid", isError);
      if (isError) el.setAttribute("aria-invalid", "true");
    });
  }

  // One request at a time: each reply is drawn before the next request leaves, so replies
  // never cross (an older state drawn over a newer one) and each request names the rows
  // on screen. A timer callback runs after the caller's redraw (its continuation), so
  // the next request and clearing aria-busy wait for that.
  let turn = Promise.resolve();
  let pending = 0;
  const afterRedraw = () => new Promise((resolve) => setTimeout(resolve, 0));

  // aria-busy tells assistive technology (and browser tests) that a redraw is on its way.
  function post(url, body) {
    pending += 1;
    questions.setAttribute("aria-busy", "true");
    const mine = turn.then(() => send(url, body));
    turn = mine.then(afterRedraw);
    turn.then(() => {
      pending -= 1;
      if (pending === 0) questions.removeAttribute("aria-busy");
    });
    return mine;
  }

  // The keys of the rows on screen: the server sends those rows back as placeholders.
  function shownRows() {
    return Array.from(questions.querySelectorAll("form.q-row[data-key]"))
      .map((f) => f.dataset.key)
      .join(" ");
  }

  async function send(url, body) {
    body.set("shown", shownRows());
    const unreachable = {
      ok: false,
      error: "サーバーに接続できませんでした。入力は画面に残っています。もう一度お試しください。",
    };
    try {
      const response = await fetch(url, {
        method: "POST",
        body: body,
        headers: { "X-CSRFToken": csrf, Accept: "application/json" },
        credentials: "same-origin",
      });
      return await response.json();
    } catch (e) {
      return unreachable;
    }
  }

  function isEdited(el) {
    if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
    if (el.tagName === "SELECT") return Array.from(el.options).some((o) => o.selected !== o.defaultSelected);
    return el.value !== el.defaultValue;
  }

  // Staff keep typing while an answer is saved: what they typed into other rows, and where
  // the cursor is, must survive the redraw that the save's reply brings.
  function unsavedEdits(except) {
    const edits = [];
    questions.querySelectorAll("form.q-row").forEach((form) => {
      if (form.dataset.fact === except) return;
      form.querySelectorAll("input:not([type=hidden]), select, textarea").forEach((el) => {
        const focused = el === document.activeElement;
        if (focused || isEdited(el)) {
          edits.push({ fact: form.dataset.fact, el: el, edited: isEdited(el), focused: focused });
        }
      });
    });
    return edits;
  }

  function restoreEdits(edits) {
    let focused = false;
    for (const edit of edits) {
      const form = rowFor(edit.fact);
      if (!form) continue;
      const same = Array.from(form.elements).find(
        (el) => el.name === edit.el.name && (edit.el.type !== "radio" || el.value === edit.el.value)
      );
      if (!same) continue;
      if (edit.edited) {
        if (same.type === "checkbox" || same.type === "radio") same.checked = edit.el.checked;
        else same.value = edit.el.value;
      }
      if (edit.focused) {
        same.focus();
        focused = true;
      }
    }
    return focused;
  }

  async function redrawFromPage() {
    try {
      const response = await fetch(location.href, { credentials: "same-origin" });
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      questions.innerHTML = page.getElementById("questions").innerHTML;
      panel.innerHTML = page.getElementById("panel").innerHTML;
    } catch (e) {
      location.reload();
    }
  }

  // Returns whether the cursor was put back into a row the staff member had moved on to.
  function redraw(data, savedFact) {
    const edits = unsavedEdits(savedFact);
    const kept = new Map(
      Array.from(questions.querySelectorAll("form.q-row[data-key]")).map((f) => [f.dataset.key, f])
    );
    questions.innerHTML = data.questions_html;
    // Unchanged rows came as placeholders: put our own rows (and what is typed in them) back.
    let missing = false;
    questions.querySelectorAll("template[data-keep]").forEach((slot) => {
      const row = kept.get(slot.dataset.keep);
      if (row) slot.replaceWith(row);
      else missing = true;
    });
    // Two saves whose replies crossed can name a row this page no longer has: redraw
    // from the page itself rather than leave a hole.
    if (missing) redrawFromPage();
    panel.innerHTML = data.panel_html;
    const status = document.getElementById("case-status");
    if (status && data.status_label) status.textContent = data.status_label;
    return restoreEdits(edits);
  }

  async function save(form) {
    const fact = form.dataset.fact;
    const body = new FormData(form);
    const signature = JSON.stringify(Array.from(body.entries()));
    if (lastSent.get(fact) === signature) return;
    lastSent.set(fact, signature);
    body.set("fact", fact);
    body.set("revision", form.dataset.revision || "0");
    showMessage(form, "保存しています…", false);
    const where = place(form);
    const data = await post(questions.dataset.answerUrl, body);
    if (!data.ok) {
      lastSent.delete(fact);
      if (data.revision !== undefined) form.dataset.revision = String(data.revision);
      showMessage(form, data.error, true);
      return;
    }
    lastSent.delete(fact);
    const movedOn = redraw(data, fact);
    const saved = rowFor(fact);
    if (saved) showMessage(saved, "保存しました", false);
    if (!movedOn) focusNext(where);
  }

  questions.addEventListener("submit", (event) => {
    const form = event.target;
    event.preventDefault();
    if (form.classList.contains("q-row")) save(form);
    if (form.classList.contains("member-form")) addMember(form, questions.dataset.memberUrl);
    if (form.classList.contains("roles-form")) addMember(form, form.dataset.url);
  });

  // A select changed with the arrow keys (or by typing its first letters) is only being
  // browsed: it is saved with Enter, or when the clerk leaves it; a role question with
  // Enter only. Never on the first arrow key (it once made the deceased the applicant).
  const browsing = new WeakSet();
  const BROWSE_KEYS = ["ArrowDown", "ArrowUp", "ArrowLeft", "ArrowRight", "Home", "End", "PageDown", "PageUp"];

  function commit(el) {
    browsing.delete(el);
    const roleRow = el.closest("form.role-row");
    if (roleRow) {
      if (el.value !== "") addMember(roleRow, roleRow.dataset.url);
      return;
    }
    const form = el.closest("form.q-row");
    if (form && form.dataset.multi === undefined) save(form);
  }

  questions.addEventListener("keydown", (event) => {
    const el = event.target;
    if (el.tagName !== "SELECT" || event.altKey || event.ctrlKey) return;
    if (BROWSE_KEYS.includes(event.key) || event.key.length === 1) browsing.add(el);
    if (event.key === "Enter") {
      event.preventDefault();
      commit(el);
    }
  });

  questions.addEventListener("mousedown", (event) => {
    if (event.target.tagName === "SELECT") browsing.delete(event.target);
  });

  questions.addEventListener("focusout", (event) => {
    const el = event.target;
    if (el.tagName === "SELECT" && browsing.has(el) && el.isConnected && !el.closest("form.role-row")) {
      commit(el);
    }
  });

  questions.addEventListener("change", (event) => {
    const el = event.target;
    if (el.tagName === "SELECT" && browsing.has(el)) {
      const form = el.closest("form");
      const chosen = el.selectedOptions[0];
      if (form && chosen && el.value !== "") {
        showMessage(form, `「${chosen.textContent.trim()}」を選んでいます。Enterで決定します。`, false);
      }
      return;
    }
    const roleRow = el.closest("form.role-row");
    if (roleRow && el.value !== "") return addMember(roleRow, roleRow.dataset.url);
    const form = el.closest("form.q-row");
    if (!form || el.classList.contains("reason")) return;
    // Rows with several inputs (a bank account) are saved with their button or Enter only.
    if (form.dataset.multi !== undefined) return;
    save(form);
  });

  // A locked registry row is no Tab stop until its section's 「固定の値を変更」 is pressed.
  questions.addEventListener("click", (event) => {
    const button = event.target.closest("button.unlock-all");
    if (!button) return;
    const section = button.closest("section");
    const on = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(on));
    section.querySelectorAll("details.unlock > summary").forEach((summary) => {
      summary.tabIndex = on ? 0 : -1;
    });
    const first = section.querySelector("details.unlock > summary");
    if (on && first) first.focus();
  });

  // Kana helper: hiragana typed into a kana field becomes katakana as it is typed.
  questions.addEventListener("input", (event) => {
    const el = event.target;
    if (el.dataset && el.dataset.type === "kana" && !event.isComposing) {
      const converted = el.value.replace(/[\u3041-\u3096]/g, (ch) =>
        String.fromCharCode(ch.charCodeAt(0) + 0x60)
      );
      if (converted !== el.value) el.value = converted;
    }
  });

  // Adding a member and changing a member's roles answer the same way: redraw, then
  // put the cursor on that member's first question.
  async function addMember(form, url) {
    const where = place(form);
    const select = form.querySelector("select");
    const label = form.querySelector(".q-label label");
    const chosen = select && select.selectedOptions[0] ? select.selectedOptions[0].textContent.trim() : "";
    const data = await post(url, new FormData(form));
    if (!data.ok) {
      form.querySelector(".q-msg").textContent = data.error;
      return;
    }
    redraw(data);
    const isNew = select && select.value === "new";
    if (form.classList.contains("role-row") && label) {
      const role = label.textContent.replace(/はどなたですか$/, "");
      announce(`${role}に「${chosen}」を選びました。`);
    } else if (form.classList.contains("member-form")) {
      announce(`世帯員${data.person + 1}を追加しました。`);
    } else {
      announce("役割を保存しました。");
    }
    // Someone not yet in the household was added for a role: their questions come next.
    const section = isNew && questions.querySelector(`section[data-person="${data.person}"]`);
    const first = section && section.querySelector(OPEN);
    if (first) firstInput(first).focus();
    else focusNext(where);
  }
})();
