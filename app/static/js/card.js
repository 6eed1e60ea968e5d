// The card panel on the case page: ask the desk's agent for a reading, show the result for
// staff to confirm, confirm or reveal the 個人番号 (audited). No card data is kept here
// beyond the masked values the server sends.
(function () {
  "use strict";
  const panel = document.getElementById("card-panel");
  if (!panel) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const state = panel.querySelector(".card-state");
  const result = panel.querySelector(".card-result");
  const rows = result.querySelector("tbody");
  let readingId = null;
  let polling = null;

  async function call(url, body, method) {
    const response = await fetch(url, {
      method: method || "POST",
      headers: { "X-CSRFToken": csrf, Accept: "application/json", "Content-Type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    if (!response.ok) {
      throw new Error((data.error && data.error.message) || "処理できませんでした。画面を再読み込みしてください。");
    }
    return data;
  }

  function say(text) { state.textContent = text; }

  function show(data) {
    rows.replaceChildren();
    for (const fact of data.facts) {
      const tr = document.createElement("tr");
      for (const text of [fact.label, fact.display, fact.current || ""]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      if (fact.my_number) tr.className = "card-my-number";
      rows.append(tr);
    }
    panel.querySelector(".card-notes").textContent = (data.notes || []).join(" ");
    result.hidden = false;
  }

  async function poll() {
    try {
      const data = await call(panel.dataset.statusUrl, null, "GET");
      if (data.state === "pending") {
        readingId = data.reading_id;
        say("読み取りました。券面と本人を確認してから取り込んでください。");
        show(data);
        stop();
      } else if (data.state === "failed") {
        say(data.message);
        stop();
      }
    } catch (error) { say(error.message); stop(); }
  }

  function stop() { if (polling) { clearInterval(polling); polling = null; } }

  const request = panel.querySelector(".card-request");
  if (request) {
    request.addEventListener("submit", async (event) => {
      event.preventDefault();
      result.hidden = true;
      try {
        const data = await call(panel.dataset.requestUrl, Object.fromEntries(new FormData(request)));
        say(data.message);
        stop();
        polling = setInterval(poll, 1500);
      } catch (error) { say(error.message); }
    });
  }

  panel.querySelector(".card-confirm").addEventListener("click", async () => {
    try {
      const data = await call(panel.dataset.confirmUrl, { reading_id: readingId });
      say(data.message);
      result.hidden = true;
      window.location.reload();
    } catch (error) { say(error.message); }
  });

  panel.querySelector(".card-reveal").addEventListener("click", async () => {
    try {
      const data = await call(panel.dataset.revealUrl, { reading_id: readingId });
      const cell = rows.querySelector(".card-my-number td:nth-child(2)");
      if (cell) cell.textContent = data.number;
    } catch (error) { say(error.message); }
  });

  const pairing = panel.querySelector(".card-pairing");
  pairing.addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = panel.querySelector(".card-pairing-code");
    try {
      const data = await call(panel.dataset.pairingUrl, Object.fromEntries(new FormData(pairing)));
      out.textContent = `登録コード: ${data.code}（${data.minutes}分間有効）。読取端末で「kakanai-cardagent pair」を実行し、このコードを入力してください。`;
    } catch (error) { out.textContent = error.message; }
  });

  const zairyu = panel.querySelector(".card-zairyu");
  zairyu.addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = panel.querySelector(".card-zairyu-state");
    try {
      const data = await call(panel.dataset.zairyuUrl, Object.fromEntries(new FormData(zairyu)));
      out.textContent = data.message;
      zairyu.reset();
    } catch (error) { out.textContent = error.message; }
  });
})();
