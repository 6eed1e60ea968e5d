// The rule file editor: CodeMirror 6 (vendor/codemirror, bundled) in place of the text
// area, the server's problems as markers at their line and column. Without the bundle the
// plain text area still works: the form posts the same field either way.
(function () {
  "use strict";
  // How long typing must pause before the template preview is rendered again: long enough
  // not to render on every key, short enough to feel live.
  const PREVIEW_DELAY_MS = 400;

  function start() {
    const area = document.querySelector("textarea[data-editor]");
    if (!area || !window.KakanaiEditor) return;
    const host = document.createElement("div");
    host.className = "code-editor";
    area.parentNode.insertBefore(host, area);
    area.hidden = true;
    const view = window.KakanaiEditor.createEditor(host, area.value, (text) => {
      area.value = text;
      // the same event a plain text area sends, so the live preview follows either
      area.dispatchEvent(new Event("input"));
    });
    if (area.dataset.readonly) view.contentDOM.setAttribute("contenteditable", "false");
    const problems = JSON.parse(area.dataset.problems || "[]");
    window.KakanaiEditor.showProblems(view, problems);
    document.querySelectorAll("[data-line]").forEach((link) => {
      link.addEventListener("click", (event) => {
        event.preventDefault();
        const doc = view.state.doc;
        const line = doc.line(Math.min(Number(link.dataset.line), doc.lines));
        const pos = Math.min(line.from + Number(link.dataset.column) - 1, line.to);
        view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
        view.focus();
      });
    });
    window.policyEditor = view; // lets the browser test type as a person would
  }

  // The template preview renders what is typed now (not what was saved) into the frame
  // below, PREVIEW_DELAY_MS after typing stops. Each render is a form post into the frame:
  // a new one replaces the frame's navigation, so the browser cancels a stale request still
  // under way and an older answer can never overwrite a newer one. (The CSP keeps frames to
  // 'self', so a PDF fetched by script could not be shown; a post into the frame can.) A
  // template that does not render shows its problem in the frame, in the status line above
  // it and as a marker at its line in the editor; the typed text stays as it is.
  function startPreview() {
    const live = document.querySelector("form[data-live-preview]");
    const area = document.querySelector("textarea[data-editor]");
    const frame = document.getElementById("template-live");
    const status = document.getElementById("preview-status");
    if (!live || !area || !frame || !status) return;
    const typed = () => (window.policyEditor ? window.policyEditor.state.doc.toString() : area.value);
    const mark = (problems) => {
      if (window.policyEditor) window.KakanaiEditor.showProblems(window.policyEditor, problems);
    };
    let timer = null;
    let rendering = false;
    live.addEventListener("submit", () => {
      clearTimeout(timer);
      live.querySelector("input[name=text]").value = typed();
      rendering = true;
      status.className = "muted";
      status.textContent = "見本を作っています…";
    });
    area.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => live.requestSubmit(), PREVIEW_DELAY_MS);
    });
    frame.addEventListener("load", () => {
      if (!rendering) return; // the empty frame of the first page load
      rendering = false;
      let problem = null;
      try {
        problem = frame.contentDocument && frame.contentDocument.getElementById("preview-problem");
      } catch (e) {
        problem = null; // a PDF viewer that is not a readable document: a PDF was shown
      }
      if (!problem) {
        status.className = "muted";
        status.textContent = "見本を更新しました（保存はしていません）。";
        mark([]);
        return;
      }
      const line = Number(problem.dataset.line || 1);
      const column = Number(problem.dataset.column || 1);
      const message = problem.textContent.trim();
      status.className = "error";
      status.textContent = `${line}行目: ${message} 直すと見本が自動で更新されます。`;
      if (problem.dataset.file === live.dataset.file) mark([{ line, column, message }]);
    });
  }
  document.addEventListener("DOMContentLoaded", startPreview);
  document.addEventListener("DOMContentLoaded", start);
})();
