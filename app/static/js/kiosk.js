// Kiosk waiting screen: ask every 2 s whether staff attached this tablet to a case.
(function () {
  "use strict";
  const box = document.getElementById("kiosk");
  const waiting = document.getElementById("kiosk-waiting");
  const ready = document.getElementById("kiosk-ready");
  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, { credentials: "same-origin" });
      const body = await response.json();
      ready.hidden = !body.attached;
      waiting.hidden = body.attached;
    } catch (e) {
      waiting.textContent = "通信が途切れています。しばらくお待ちください。";
    }
    setTimeout(poll, 2000);
  }
  poll();
})();
