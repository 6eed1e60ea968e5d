// Resident review: follow the forms live (Server-Sent Events), highlight what changed,
// confirm each form or ask for a correction, sign once on a pad. Also the language toggle.
(function () {
  "use strict";

  // ---- language of the interface (the forms themselves stay Japanese) ----
  const TEXT = {
    ja: {
      reconnecting: "接続が切れました。再接続しています…",
      connected: "",
      progress: (done, total) => `${total}件の書類のうち ${done}件を確認しました`,
      confirmed: "確認しました",
      unconfirmed: "まだ確認していません",
      ask_about: (label) => `「${label}」について`,
      ask_form: (title) => `書類「${title}」について`,
      sent: "職員に送りました。職員が確認して直します。",
      changed: "職員が内容を変更しました。新しい内容をご確認ください。",
      empty_signature: "署名が書かれていません。枠の中に指やペンでお名前をお書きください。",
      failed: "送信できませんでした。もう一度押してください。",
      signing: "署名を送っています…",
      pad: "署名欄（指やペンで名前を書く）",
      done_button: "✔ 確認済み",
      no_name: "お名前が入力されていません。入力欄にお名前を入力してから押してください。",
    },
    en: {
      reconnecting: "Connection lost. Reconnecting…",
      connected: "",
      progress: (done, total) => `You have checked ${done} of ${total} forms`,
      confirmed: "Checked",
      unconfirmed: "Not checked yet",
      ask_about: (label) => `About “${label}”`,
      ask_form: (title) => `About the form “${title}”`,
      sent: "Sent to the staff member, who will correct it.",
      changed: "The staff member changed this form. Please check the new content.",
      empty_signature: "Nothing is written yet. Write your name in the box with your finger or a pen.",
      failed: "Could not send. Please press again.",
      signing: "Sending your signature…",
      pad: "Signature box (write your name with a finger or pen)",
      done_button: "✔ Checked",
      no_name: "No name is typed yet. Type your name in the box, then press the button.",
    },
  };
  // The server's refusals come in Japanese with a stable code; in English, say them so.
  const ERRORS_EN = {
    bad_image: "The signature could not be read. Press “Clear and redo” and write it again.",
    empty: "Nothing is written yet. Write your name in the box with your finger or a pen.",
    not_in_review: "It is not time to sign yet. Please wait for the staff member.",
    unconfirmed: "Some forms are not checked yet. Press “I have checked this form” on every form first.",
    no_forms: "There are no forms to sign. Please tell the staff member.",
    no_name: "No name is typed yet. Type your name in the box, then press the button.",
    changed: "The staff member changed this form. Please check the new content.",
  };
  let lang = localStorage.getItem("kakanai-lang") === "en" ? "en" : "ja";
  const errorText = (data) => (lang === "en" && ERRORS_EN[data.code]) || data.error || tr("failed");
  const tr = (key, ...args) => {
    const value = TEXT[lang][key];
    return typeof value === "function" ? value(...args) : value;
  };
  const toggle = document.getElementById("lang-toggle");
  function applyLang() {
    document.body.classList.toggle("lang-en", lang === "en");
    if (toggle) toggle.setAttribute("aria-pressed", String(lang === "en"));
    document.dispatchEvent(new Event("kakanai:lang"));
  }
  if (toggle) {
    toggle.addEventListener("click", () => {
      lang = lang === "en" ? "ja" : "en";
      localStorage.setItem("kakanai-lang", lang);
      applyLang();
    });
  }
  applyLang();

  const review = document.getElementById("review");
  if (!review) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const formsBox = document.getElementById("forms");
  const connection = document.getElementById("connection");
  const progress = document.getElementById("progress");
  const actionsTemplate = document.getElementById("form-actions");
  let state = null;
  // While our own signature is being sent, the "signed" event must not reload the page:
  // the receipt URL (and the session's receipt access) come with the answer.
  let signing = false;

  async function post(url, fields) {
    const body = new FormData();
    Object.entries(fields).forEach(([k, v]) => body.append(k, v == null ? "" : v));
    const response = await fetch(url, {
      method: "POST",
      body: body,
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      credentials: "same-origin",
    });
    let data;
    try {
      data = await response.json();
    } catch (e) {
      data = { ok: false, error: tr("failed") };
    }
    if (response.status === 410) window.location.reload();
    return data;
  }

  // ---- the forms: draw, and mark the entries whose value changed ----
  function valuesOf(root) {
    const values = new Map();
    root.querySelectorAll("button.entry").forEach((el) => {
      values.set(el.dataset.field + "|" + el.dataset.label, el.querySelector(".entry-value").textContent.trim());
    });
    return values;
  }

  function markChanges(oldBody, newBody) {
    const before = valuesOf(oldBody);
    const changed = [];
    newBody.querySelectorAll("button.entry").forEach((el) => {
      const key = el.dataset.field + "|" + el.dataset.label;
      const text = el.querySelector(".entry-value").textContent.trim();
      if (before.has(key) ? before.get(key) !== text : !el.classList.contains("blank")) changed.push(el);
    });
    changed.forEach((el) => el.classList.add("just-changed"));
    if (changed.length) {
      setTimeout(() => changed.forEach((el) => el.classList.remove("just-changed")), 8000);
    }
    return changed.length;
  }

  function sectionFor(key) {
    return Array.from(formsBox.querySelectorAll("section.rform")).find((s) => s.dataset.key === key);
  }

  function addActions(section) {
    if (section.querySelector(".rform-actions")) return;
    section.appendChild(actionsTemplate.content.cloneNode(true));
    const actions = section.querySelector(".rform-actions");
    actions.querySelector("button.confirm").addEventListener("click", () => confirmForm(section));
    actions.querySelector("button.ask").addEventListener("click", () =>
      openAsk(section, null)
    );
  }

  function showFormState(section, form) {
    section.classList.toggle("confirmed", form.confirmed);
    const label = section.querySelector(".rform-state");
    label.textContent = form.confirmed ? "✔ " + tr("confirmed") : tr("unconfirmed");
    const button = section.querySelector("button.confirm");
    if (!button.dataset.label) button.dataset.label = button.innerHTML;
    button.disabled = form.confirmed;
    if (form.confirmed) button.textContent = tr("done_button");
    else button.innerHTML = button.dataset.label;
  }

  // ---- the first screen: what to do now, in one sentence and one button ----
  const task = document.getElementById("task");
  function showTask(data) {
    if (!task) return;
    task.dataset.next = data.next;
    task.querySelectorAll("[data-next]").forEach((el) => (el.hidden = el.dataset.next !== data.next));
    task.querySelectorAll("[data-next-for]").forEach(
      (el) => (el.hidden = el.dataset.nextFor !== data.next || !data.forms.length)
    );
  }
  function goTo(el) {
    if (!el) return;
    if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
    el.scrollIntoView({ block: "start" });
    el.focus({ preventScroll: true });
  }
  document.getElementById("task-go").addEventListener("click", () => {
    const next = Array.from(formsBox.querySelectorAll("section.rform")).find((s) => !s.classList.contains("confirmed"));
    if (next) goTo(next.querySelector("h2"));
  });
  document.getElementById("task-look").addEventListener("click", () => {
    const first = formsBox.querySelector("section.rform h2");
    goTo(first);
  });
  document.getElementById("task-sign").addEventListener("click", () => goTo(document.getElementById("sign-title")));

  function draw(data) {
    state = data;
    const keys = data.forms.map((f) => f.key);
    formsBox.querySelectorAll("section.rform").forEach((s) => {
      if (!keys.includes(s.dataset.key)) s.remove();
    });
    if (data.forms.length) formsBox.querySelectorAll(".empty").forEach((p) => p.remove());
    data.forms.forEach((form, index) => {
      let section = sectionFor(form.key);
      const fresh = document.createElement("div");
      fresh.className = "rform-body";
      fresh.innerHTML = form.body;
      if (!section) {
        section = document.createElement("section");
        section.className = "rform";
        section.dataset.key = form.key;
        const h2 = document.createElement("h2");
        h2.id = "rf-" + form.key.replace(/[^a-z0-9_-]/gi, "_");
        h2.lang = "ja";
        h2.textContent = form.title;
        section.setAttribute("aria-labelledby", h2.id);
        section.appendChild(h2);
        section.appendChild(fresh);
        markChanges(document.createElement("div"), fresh);
      } else if (section.dataset.hash !== form.hash) {
        const old = section.querySelector(".rform-body");
        const ids = old.querySelector("details.rform-ids");
        markChanges(old, fresh);
        if (ids && ids.open) fresh.querySelector("details.rform-ids").open = true;
        old.replaceWith(fresh);
      }
      section.dataset.hash = form.hash;
      const position = formsBox.querySelectorAll("section.rform")[index];
      if (position !== section) formsBox.insertBefore(section, position || null);
      addActions(section);
      showFormState(section, form);
    });
    const done = data.forms.filter((f) => f.confirmed).length;
    progress.textContent = data.forms.length ? tr("progress", done, data.forms.length) : "";
    document.getElementById("sign-ready").hidden = !data.can_sign;
    document.getElementById("sign-wait").hidden = data.can_sign;
    showTask(data);
    if (data.can_sign) resizePad();
  }

  let fetching = null;
  let again = false;
  async function refresh() {
    // One fetch at a time; a change arriving meanwhile triggers exactly one more.
    if (fetching) {
      again = true;
      return fetching;
    }
    fetching = (async () => {
      do {
        again = false;
        const response = await fetch(review.dataset.formsUrl, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (response.status === 410 || response.redirected) {
          if (!signing) window.location.reload();
          return;
        }
        if (response.ok) draw(await response.json());
      } while (again);
    })();
    try {
      await fetching;
    } finally {
      fetching = null;
    }
  }

  // ---- live: Server-Sent Events with catch-up ----
  // We reconnect ourselves (instead of EventSource's own retry) so that a dropped network
  // is shown at once and the next stream starts after the last event seen (?after=N, the
  // same catch-up as Last-Event-ID).
  const eventsUrl = new URL(review.dataset.eventsUrl, window.location.href);
  let lastId = Number(eventsUrl.searchParams.get("after") || 0);
  let source = null;
  let retry = null;
  let lostTimer = null;

  function showLost() {
    connection.dataset.lost = "1";
    connection.textContent = tr("reconnecting");
  }

  function scheduleReconnect(delay) {
    if (source) source.close();
    source = null;
    clearTimeout(retry);
    retry = setTimeout(connect, delay);
  }

  function connect() {
    eventsUrl.searchParams.set("after", String(lastId));
    source = new EventSource(eventsUrl.toString());
    const seen = (event) => {
      if (event.lastEventId) lastId = Math.max(lastId, Number(event.lastEventId));
    };
    source.addEventListener("open", () => {
      clearTimeout(lostTimer);
      if (connection.dataset.lost) {
        delete connection.dataset.lost;
        connection.textContent = "";
        refresh(); // catch up even on events the log no longer holds
      }
    });
    // Redis (the live fan-out) is out of reach: the page still works, its updates are late.
    source.addEventListener("delayed", (event) => {
      const data = JSON.parse(event.data || "{}");
      connection.dataset.delayed = "1";
      connection.textContent = data.message || "更新の配信が遅れています";
    });
    const undelay = () => {
      if (!connection.dataset.delayed) return;
      delete connection.dataset.delayed;
      if (!connection.dataset.lost) connection.textContent = "";
    };
    ["forms", "confirmed", "resync", "joined", "request", "resolved"].forEach((type) =>
      source.addEventListener(type, (event) => {
        seen(event);
        undelay();
        if (type === "forms" || type === "confirmed" || type === "resync") refresh();
      })
    );
    ["status", "signed"].forEach((type) =>
      source.addEventListener(type, (event) => {
        seen(event);
        undelay();
        if (signing) return;
        const data = JSON.parse(event.data || "{}");
        if (data.status === "review" || data.status === "interviewing") refresh();
        else window.location.reload();
      })
    );
    source.addEventListener("error", () => {
      // The server ends each stream after about a minute: reconnect at once, and say the
      // connection is lost only when that does not succeed quickly.
      scheduleReconnect(connection.dataset.lost ? 2000 : 200);
      clearTimeout(lostTimer);
      lostTimer = setTimeout(showLost, 1500);
      fetch(review.dataset.formsUrl, { credentials: "same-origin" })
        .then((r) => {
          if (r.status === 410 && !signing) window.location.reload();
        })
        .catch(() => {});
    });
  }
  window.addEventListener("offline", () => {
    if (source) source.close();
    source = null;
    showLost();
  });
  window.addEventListener("online", () => scheduleReconnect(0));

  // ---- confirm, or ask for a correction ----
  async function confirmForm(section) {
    const data = await post(review.dataset.confirmUrl, { form: section.dataset.key, hash: section.dataset.hash });
    if (data.ok) draw(data);
    else {
      section.querySelector(".rform-state").textContent = data.code === "changed" ? tr("changed") : errorText(data);
      refresh();
    }
  }

  const dialog = document.getElementById("ask-dialog");
  const askNote = document.getElementById("ask-note");
  const askError = document.getElementById("ask-error");
  let asking = null;

  function openAsk(section, field) {
    asking = { section, field };
    const title = section.querySelector("h2").textContent;
    document.getElementById("ask-target").textContent = field ? tr("ask_about", field) : tr("ask_form", title);
    askNote.value = "";
    askError.hidden = true;
    dialog.showModal();
    askNote.focus();
  }

  formsBox.addEventListener("click", (event) => {
    const entry = event.target.closest("button.entry");
    if (entry) {
      openAsk(entry.closest("section.rform"), entry.dataset.label);
      return;
    }
    const opener = event.target.closest("button.page-open, .rform-thumb");
    if (opener) openPage(opener.closest("section.rform"), opener);
  });

  // ---- the page image, full screen: pinch to zoom on a touch screen, or ± buttons ----
  const pageDialog = document.getElementById("page-dialog");
  const pageView = document.getElementById("page-view");
  let pageZoom = 1;
  let pageOpener = null;
  function openPage(section, opener) {
    pageOpener = opener.closest("button") || section.querySelector("button.page-open");
    document.getElementById("page-title").textContent = section.querySelector("h2").textContent;
    pageView.innerHTML = "";
    const doc = section.querySelector(".rform-doc").cloneNode(true);
    pageView.appendChild(doc);
    pageZoom = Math.min(1, (window.innerWidth - 32) / 800);
    doc.style.zoom = String(pageZoom);
    pageDialog.showModal();
    pageView.focus();
  }
  pageDialog.querySelectorAll("[data-zoom]").forEach((button) =>
    button.addEventListener("click", () => {
      pageZoom = Math.max(0.3, Math.min(4, pageZoom * (button.dataset.zoom === "1" ? 1.25 : 0.8)));
      pageView.firstElementChild.style.zoom = String(pageZoom);
    })
  );
  document.getElementById("page-close").addEventListener("click", () => pageDialog.close());
  pageDialog.addEventListener("close", () => {
    if (pageOpener) pageOpener.focus();
  });
  document.getElementById("ask-cancel").addEventListener("click", () => dialog.close());
  document.getElementById("ask-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = await post(review.dataset.requestUrl, {
      form: asking.section.dataset.key,
      field: asking.field || "",
      note: askNote.value,
    });
    if (!data.ok) {
      askError.textContent = errorText(data);
      askError.hidden = false;
      return;
    }
    dialog.close();
    asking.section.querySelector(".rform-state").textContent = tr("sent");
  });

  // ---- the signature pad: pointer events (finger, pen, mouse) ----
  const pad = document.getElementById("signature-pad");
  const ctx = pad.getContext("2d");
  const signError = document.getElementById("sign-error");
  let inked = 0;
  let last = null;

  function resizePad() {
    const width = Math.round(pad.getBoundingClientRect().width);
    if (width && pad.width !== width && inked === 0) {
      pad.width = width;
      pad.height = Math.round(width / 3);
    }
  }
  function point(event) {
    const box = pad.getBoundingClientRect();
    return { x: ((event.clientX - box.left) * pad.width) / box.width, y: ((event.clientY - box.top) * pad.height) / box.height };
  }
  pad.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    signError.hidden = true; // drawing answers an earlier "nothing written"
    last = point(event);
    ctx.lineWidth = Math.max(3, pad.width / 200);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#000";
    ctx.beginPath();
    ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
  });
  pad.addEventListener("pointermove", (event) => {
    if (!last) return;
    const next = point(event);
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    ctx.lineTo(next.x, next.y);
    ctx.stroke();
    inked += Math.hypot(next.x - last.x, next.y - last.y);
    last = next;
  });
  ["pointerup", "pointercancel"].forEach((type) => pad.addEventListener(type, () => (last = null)));
  document.getElementById("sign-clear").addEventListener("click", () => {
    ctx.clearRect(0, 0, pad.width, pad.height);
    inked = 0;
    signError.hidden = true;
  });
  document.getElementById("sign-submit").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    if (inked < 20) {
      signError.textContent = tr("empty_signature");
      signError.hidden = false;
      return;
    }
    button.disabled = true;
    signing = true;
    signError.textContent = tr("signing");
    signError.hidden = false;
    const data = await post(review.dataset.signUrl, { signature: pad.toDataURL("image/png") });
    if (data.ok) {
      window.location.assign(data.receipt);
      return;
    }
    signing = false;
    button.disabled = false;
    signError.textContent = errorText(data);
  });
  document.getElementById("sign-typed").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    const name = document.getElementById("typed-name").value.trim();
    if (!name) {
      signError.textContent = tr("no_name");
      signError.hidden = false;
      document.getElementById("typed-name").focus();
      return;
    }
    button.disabled = true;
    signing = true;
    signError.textContent = tr("signing");
    signError.hidden = false;
    const data = await post(review.dataset.signUrl, { typed_name: name });
    if (data.ok) {
      window.location.assign(data.receipt);
      return;
    }
    signing = false;
    button.disabled = false;
    signError.textContent = errorText(data);
  });
  document.addEventListener("kakanai:lang", () => {
    pad.setAttribute("aria-label", tr("pad"));
    if (state) draw(state);
  });

  // ---- the call: shown only once staff have started theirs ----
  const call = document.getElementById("call");
  async function watchCall() {
    if (!call || !call.hidden) return;
    try {
      const response = await fetch(review.dataset.callUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok && (await response.json()).staff) {
        call.hidden = false;
        call.dispatchEvent(new Event("kakanai:call-start"));
        return;
      }
    } catch (e) {
      // offline: the connection line already says so; ask again later
    }
    setTimeout(watchCall, document.hidden ? 10000 : 3000);
  }

  formsBox.querySelectorAll("section.rform").forEach(addActions);
  refresh().then(connect);
  watchCall();
})();
