// The join box of the staff case page: issue a join link in place (no page change), then
// copy the text for the resident or open the phone's SMS app with it.
(function () {
  "use strict";
  const box = document.getElementById("join-box");
  if (!box) return;
  const issued = document.getElementById("join-box-issued");
  const error = document.getElementById("join-box-error");
  const button = document.getElementById("join-box-issue");

  button.addEventListener("click", async () => {
    button.disabled = true;
    error.hidden = true;
    try {
      const response = await fetch(box.dataset.issueUrl, {
        method: "POST",
        headers: { "X-CSRFToken": box.dataset.csrf, Accept: "application/json" },
        credentials: "same-origin",
      });
      const data = await response.json().catch(() => ({ ok: false }));
      if (!data.ok) throw new Error(data.error || "発行できませんでした。ページを開き直してから、もう一度押してください。");
      issued.innerHTML = data.html;
      button.textContent = "発行し直す（前のコードは使えなくなります）";
      wire();
    } catch (e) {
      error.textContent = e.message || "発行できませんでした。ページを開き直してから、もう一度押してください。";
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });

  function wire() {
    const copy = document.getElementById("join-box-copy");
    const text = document.getElementById("join-box-message");
    const said = document.getElementById("join-box-copied");
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(text.value);
        said.textContent = "コピーしました";
      } catch (e) {
        text.select();
        said.textContent = "選択しました。Ctrl+C でコピーしてください";
      }
    });
  }
})();
