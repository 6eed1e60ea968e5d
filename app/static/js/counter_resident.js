// Staff case page, 住民の画面 box: ask every 2 s whether anything happened on the case
// since the last event drawn (the server answers 204 when not), and redraw the box if so.
// Polling, not an event stream: staff pages reload often and a stream holds a server thread.
(function () {
  "use strict";
  const box = document.getElementById("resident-box");
  if (!box) return;
  const POLL_MS = 2000;

  async function poll() {
    const live = box.querySelector(".resident-live");
    if (!live) return;
    const url = new URL(live.dataset.panelUrl, window.location.href);
    url.searchParams.set("after", live.dataset.after);
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.status === 200 && !response.redirected) box.innerHTML = await response.text();
    } catch (e) {
      // offline for a moment: the next poll catches up
    }
    setTimeout(poll, POLL_MS);
  }
  setTimeout(poll, POLL_MS);
})();
