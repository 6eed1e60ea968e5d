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
    showResidence(data);
    result.hidden = false;
  }

  // A 在留カード等 reading: kind, masked number, 住居地, images, and fields typed from the image.
  function showResidence(data) {
    const box = panel.querySelector(".card-residence");
    const typedBox = panel.querySelector(".card-typed");
    const typedFields = panel.querySelector(".card-typed-fields");
    typedFields.replaceChildren();
    panel.querySelector(".card-reveal").hidden = Boolean(data.card);  // no 個人番号 to reveal
    if (!data.card) { box.hidden = true; typedBox.hidden = true; return; }
    const card = data.card;
    const list = box.querySelector(".card-residence-facts");
    list.replaceChildren();
    const items = [
      ["種類", card.type_label],
      ["カード番号", card.number_masked + "（カードが番号を認証しました）"],
      ["世代", card.generation === 1 ? "第一世代（券面事項は画像）" : "第二世代"],
      ["住居地（裏面追記）", card.address + (card.address_date ? `（${card.address_date} 記載）` : "")],
      ["有効期限", "券面イメージとカードで確認してください（ICに文字では記録されていません）"],
      ["電子署名", "券面イメージと顔画像は出入国在留管理庁の署名と一致しました（住居地は署名の対象外）"],
    ];
    for (const [key, value] of Object.entries(card.permits || {})) {
      items.push([key === "permit_all" ? "資格外活動許可（包括）" : "資格外活動許可（個別）", value]);
    }
    for (const [term, text] of items) {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = text;
      list.append(dt, dd);
    }
    const images = box.querySelector(".card-images");
    images.replaceChildren();
    for (const [key, alt, note] of [["face", "顔画像（ICの記録）", card.face_note], ["front", "券面（表）イメージ（ICの記録）", card.front_note]]) {
      const figure = document.createElement("figure");
      const caption = document.createElement("figcaption");
      caption.textContent = alt;
      if (card[key]) {
        const img = document.createElement("img");
        img.src = card[key];
        img.alt = alt;
        img.className = `card-image-${key}`;
        figure.append(img);
      } else {
        caption.textContent = `${alt}: ${note}`;
      }
      figure.append(caption);
      images.append(figure);
    }
    for (const field of data.typed || []) {
      const label = document.createElement("label");
      label.textContent = field.label + " ";
      const input = document.createElement("input");
      input.type = field.type;
      input.name = field.fact;
      input.value = field.value || "";
      input.autocomplete = "off";
      label.append(input);
      typedFields.append(label);
    }
    typedBox.hidden = !(data.typed || []).length;
    box.hidden = false;
  }

  function typedValues() {
    const out = {};
    for (const input of panel.querySelectorAll(".card-typed-fields input")) {
      if (input.value.trim()) out[input.name] = input.value.trim();
    }
    return out;
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
    const route = request.querySelector('select[name="route"]');
    const numberFields = request.querySelectorAll(".card-number-field");
    const toggleNumber = () => {
      for (const field of numberFields) field.hidden = route.value !== "zairyu";
    };
    route.addEventListener("change", toggleNumber);
    toggleNumber();
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
      const data = await call(panel.dataset.confirmUrl, { reading_id: readingId, typed: typedValues() });
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
