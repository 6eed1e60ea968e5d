// Staff case page, 住民の画面 box: redraw it whenever the resident (or anyone) acts on the
// case, from the case's live events (Server-Sent Events, catching up after a reconnect).
(function () {
  "use strict";
  const box = document.getElementById("resident-box");
  if (!box) return;
  const live = box.querySelector(".resident-live");
  if (!live) return;
  const panelUrl = live.dataset.panelUrl;
  let pending = false;

  async function redraw() {
    if (pending) return;
    pending = true;
    try {
      const response = await fetch(panelUrl, { credentials: "same-origin" });
      if (response.ok && !response.redirected) box.innerHTML = await response.text();
    } finally {
      pending = false;
    }
  }

  const source = new EventSource(live.dataset.eventsUrl);
  ["joined", "confirmed", "request", "resolved", "signed", "status"].forEach((type) =>
    source.addEventListener(type, redraw)
  );
  source.addEventListener("resync", redraw);
})();
