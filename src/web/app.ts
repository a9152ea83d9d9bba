import { render } from "preact";
import { useMemo, useState } from "preact/hooks";
import { ApiError, httpSource, token, workspaceName } from "./http-source.ts";
import { html, WorkspaceView } from "./view.ts";

/** The web view in a browser tab: `/w/<name>/` shows that workspace over its routes; `/` asks for a name; a refusal asks for a token. */

function Page() {
  const name = workspaceName();
  const [needsToken, setNeedsToken] = useState(false);
  const source = useMemo(() => name && httpSource(name), [name]);
  if (!source) return html`<${WorkspaceForm} />`;
  if (needsToken) return html`<${TokenForm} onToken=${() => setNeedsToken(false)} />`;
  const refused = (error: unknown) => {
    if (!(error instanceof ApiError && error.needsToken)) return false;
    setNeedsToken(true);
    return true;
  };
  return html`<${WorkspaceView} source=${source} onError=${refused} />`;
}

function WorkspaceForm() {
  const [value, setValue] = useState("default");
  return html`<form class="center" onSubmit=${(event: Event) => {
    event.preventDefault();
    location.pathname = `/w/${encodeURIComponent(value)}/`;
  }}>
    <h1>Open a workspace</h1>
    <input aria-label="Workspace name" value=${value} onInput=${(event: Event) => setValue((event.target as HTMLInputElement).value)} />
    <button>Open</button>
  </form>`;
}

function TokenForm({ onToken }: { onToken: () => void }) {
  const [value, setValue] = useState("");
  return html`<form class="center" onSubmit=${(event: Event) => {
    event.preventDefault();
    token.set(value.trim());
    onToken();
  }}>
    <h1>This workspace needs a token</h1>
    <p class="muted">It is kept for this tab only (session storage), never in the address.</p>
    <input type="password" aria-label="Token" value=${value} onInput=${(event: Event) => setValue((event.target as HTMLInputElement).value)} />
    <button>Use it</button>
  </form>`;
}

render(html`<${Page} />`, document.getElementById("app")!);
