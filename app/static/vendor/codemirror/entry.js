// The one entry point of the bundle: an editor with line numbers, YAML highlighting and
// lint markers placed by the server's problems (line/column), nothing fetched at run time.
import { basicSetup, EditorView } from "codemirror";
import { yaml } from "@codemirror/lang-yaml";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { StyleModule } from "style-mod";

// CodeMirror writes its styles into <style> elements, which the app's CSP (style-src 'self')
// refuses. A constructed stylesheet is not an inline style: mount every style module into
// one adopted sheet instead, in the order CodeMirror asks for them.
const adopted = new CSSStyleSheet();
document.adoptedStyleSheets = [...document.adoptedStyleSheets, adopted];
const mounted = [];
StyleModule.mount = function mount(_root, modules) {
  const list = [modules].flat(Infinity).filter(Boolean);
  let changed = false;
  for (const module of list) {
    if (!mounted.includes(module)) {
      mounted.push(module);
      changed = true;
    }
  }
  if (changed) adopted.replaceSync(mounted.map((m) => m.getRules()).join("\n"));
};

export function createEditor(parent, text, onChange) {
  return new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        basicSetup,
        yaml(),
        lintGutter(),
        EditorView.updateListener.of((update) => {
          if (update.docChanged && onChange) onChange(update.state.doc.toString());
        }),
      ],
    }),
  });
}

// problems: [{line, column, message}] with 1-based line and column, as the loader reports.
export function showProblems(view, problems) {
  const doc = view.state.doc;
  const diagnostics = problems.map((p) => {
    const line = doc.line(Math.min(Math.max(p.line, 1), doc.lines));
    const from = Math.min(line.from + Math.max(p.column - 1, 0), line.to);
    return { from, to: Math.max(from, line.to), severity: "error", message: p.message };
  });
  view.dispatch(setDiagnostics(view.state, diagnostics));
}
