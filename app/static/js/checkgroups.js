// Keyboard for groups of checkboxes (life events, a member's roles): ↓/→ and ↑/← move
// between the boxes of a group, Space ticks, Enter sends the form with its main button.
(function () {
  "use strict";
  const GROUP = "ul.checks, fieldset.roles-group";

  document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") return;
    const group = box.closest(GROUP);
    if (!group || event.altKey || event.ctrlKey || event.metaKey) return;
    const boxes = Array.from(group.querySelectorAll("input[type=checkbox]"));
    const at = boxes.indexOf(box);
    const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (step) {
      event.preventDefault();
      boxes[(at + step + boxes.length) % boxes.length].focus();
    } else if (event.key === "Enter" && box.form) {
      event.preventDefault();
      const main = box.form.querySelector("button[data-default], button[type=submit]");
      box.form.requestSubmit(main || undefined);
    }
  });

  // A search form with data-carry="<form id>" sends that form's ticked boxes and chosen
  // radios along (not its CSRF token), so a search does not lose them.
  document.addEventListener("submit", (event) => {
    const search = event.target;
    const other = search.dataset && search.dataset.carry && document.getElementById(search.dataset.carry);
    if (!other) return;
    search.querySelectorAll("input[data-carried]").forEach((el) => el.remove());
    other.querySelectorAll("input[type=checkbox]:checked, input[type=radio]:checked").forEach((el) => {
      if (el.name === "registry_code") return;
      const copy = document.createElement("input");
      copy.type = "hidden";
      copy.name = el.name;
      copy.value = el.value;
      copy.dataset.carried = "";
      search.append(copy);
    });
  });
})();
