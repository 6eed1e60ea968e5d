// The rule file editor: CodeMirror 6 (vendor/codemirror, bundled) in place of the text
// area, the server's problems as markers at their line and column. Without the bundle the
// plain text area still works: the form posts the same field either way.
(function () {
  "use strict";
  function start() {
    const area = document.querySelector("textarea[data-editor]");
    if (!area || !window.KakanaiEditor) return;
    const host = document.createElement("div");
    host.className = "code-editor";
    area.parentNode.insertBefore(host, area);
    area.hidden = true;
    const view = window.KakanaiEditor.createEditor(host, area.value, (text) => {
      area.value = text;
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
  // The template preview posts what is typed now (not what was saved) to the frame below;
  // without the editor bundle, what is in the plain text area.
  function startPreview() {
    const live = document.querySelector("form[data-live-preview]");
    const area = document.querySelector("textarea[data-editor]");
    if (!live || !area) return;
    live.addEventListener("submit", () => {
      const typed = window.policyEditor ? window.policyEditor.state.doc.toString() : area.value;
      live.querySelector("input[name=text]").value = typed;
    });
  }
  document.addEventListener("DOMContentLoaded", startPreview);
  document.addEventListener("DOMContentLoaded", start);
})();
