// Counter workspace shortcuts, listed on the page (#shortcuts): Alt+N next open question,
// Alt+P the procedure panel, Alt+V the first form's preview, Alt+B the whole packet as PDF,
// Alt+M the add-member form.
(function () {
  "use strict";
  const questions = document.getElementById("questions");
  const panel = document.getElementById("panel");
  if (!questions || !panel) return;
  const OPEN = "form.q-row.asked, form.role-row";

  function nextOpenQuestion() {
    const open = Array.from(questions.querySelectorAll(OPEN));
    const here = document.activeElement;
    const after = open.find(
      (form) => !form.contains(here) && here.compareDocumentPosition(form) & Node.DOCUMENT_POSITION_FOLLOWING
    );
    const target = after || open[0];
    if (!target) return focusPanel();
    const input = target.querySelector("input[type=radio]:checked") ||
      target.querySelector("input:not([type=hidden]), select, textarea");
    if (input) {
      input.focus();
      input.scrollIntoView({ block: "nearest" });
    }
  }

  function focusPanel() {
    const heading = document.getElementById("proc-h");
    if (heading) heading.focus();
  }

  const actions = {
    KeyN: nextOpenQuestion,
    KeyP: focusPanel,
    KeyV: () => {
      const link = panel.querySelector("a.form-title");
      if (link) link.focus();
      else focusPanel();
    },
    KeyM: () => {
      const box = questions.querySelector("form.member-form input[type=checkbox]");
      if (box) {
        box.focus();
        box.scrollIntoView({ block: "nearest" });
      }
    },
    KeyB: () => {
      const link = panel.querySelector("a[data-packet]");
      if (link) link.click();
    },
  };

  // 「印刷する」 opens the print dialog for the packet (the PDF in a hidden frame); where the
  // browser cannot print the frame, the link still opens the PDF in a new tab.
  panel.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-print]");
    if (!link) return;
    event.preventDefault();
    let frame = document.getElementById("print-frame");
    if (frame) frame.remove();
    frame = document.createElement("iframe");
    frame.id = "print-frame";
    // Not display:none: a hidden frame does not start the PDF viewer it prints from.
    frame.style.cssText = "position:fixed;right:0;bottom:0;width:1px;height:1px;border:0;opacity:0";
    frame.title = "印刷用";
    frame.src = link.href;
    frame.addEventListener("load", () => {
      try {
        frame.contentWindow.focus();
        frame.contentWindow.print();
      } catch (e) {
        window.open(link.href, "_blank", "noopener");
      }
    });
    document.body.append(frame);
  });

  document.addEventListener("keydown", (event) => {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const action = actions[event.code];
    if (!action) return;
    event.preventDefault();
    action();
  });
})();
