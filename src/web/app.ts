import hljs from "highlight.js/lib/common";
import htm from "htm";
import { h, render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, type FeedEntry, filePath, followChanges, getJson, postJson, request, token, workspaceName } from "./api.ts";

/**
 * The workspace's web view: the tree (lazy, what .gitignore ignores dimmed), a file with highlighting and line numbers, search
 * (find and grep), the live change feed (changed files flash), the attached sandboxes, and
 * history: checkpoints, a file's versions with their diffs, and restore after a confirmation.
 */

const html = htm.bind(h);

type Entry = { name: string; type: string; size: number; mtime: string; ignored?: boolean };
type Version = { rev: number; at?: number; path: string; change: string; state?: { size: number }; source?: FeedEntry["source"] };
type Checkpoint = { id: number; rev: number; at: number; label: string; auto: boolean };
type Sandbox = { name: string; mountpoint: string; exec: boolean; attachedAt: number; running: string[] };

const FLASH_MS = 2500;
const join = (dir: string, name: string) => (dir === "/" ? `/${name}` : `${dir}/${name}`);
const time = (ms?: number) => (ms === undefined ? "" : new Date(ms).toLocaleTimeString());
const describeSource = (source?: FeedEntry["source"]) =>
  !source ? "" : source.kind === "exec" ? `exec on ${source.name}: ${source.detail ?? ""}` : [source.kind, source.name].filter(Boolean).join(" ");

function App() {
  const name = workspaceName();
  const [needsToken, setNeedsToken] = useState(false);
  const [selected, setSelected] = useState<string | undefined>();
  const [feed, setFeed] = useState<FeedEntry[]>([]);
  const [flashing, setFlashing] = useState<Record<string, number>>({});
  const [rev, setRev] = useState(0);
  const [error, setError] = useState<string | undefined>();

  const fail = (caught: unknown) => {
    if (caught instanceof ApiError && caught.needsToken) setNeedsToken(true);
    else setError(caught instanceof Error ? caught.message : String(caught));
  };

  useEffect(() => {
    if (!name || needsToken) return;
    let stop = () => {};
    getJson<{ rev: number }>("/sandboxes")
      .then(({ rev: now }) => {
        setRev(now);
        stop = followChanges(now, (entry) => {
          setRev(entry.rev);
          setFeed((old) => [entry, ...old].slice(0, 200));
          setFlashing((old) => ({ ...old, [entry.path]: Date.now() }));
          setTimeout(() => setFlashing((old) => ({ ...old })), FLASH_MS + 50);
        });
      })
      .catch(fail);
    return () => stop();
  }, [name, needsToken]);

  if (!name) return html`<${WorkspaceForm} />`;
  if (needsToken) return html`<${TokenForm} onToken=${() => setNeedsToken(false)} />`;
  const flashed = (path: string) => (flashing[path] ?? 0) > Date.now() - FLASH_MS;
  return html`
    <header>
      <strong>${name}</strong> <span class="muted">revision ${rev}</span>
      <${Sandboxes} rev=${rev} onError=${fail} />
    </header>
    ${error && html`<p class="error" onClick=${() => setError(undefined)}>${error}</p>`}
    <main>
      <nav>
        <${Search} onOpen=${setSelected} onError=${fail} />
        <${Tree} path="/" depth=${0} rev=${rev} selected=${selected} onOpen=${setSelected} flashed=${flashed} onError=${fail} />
      </nav>
      <section>${selected ? html`<${FileView} path=${selected} rev=${rev} onError=${fail} />` : html`<p class="muted">Choose a file.</p>`}</section>
      <aside>
        <h3>Live changes</h3>
        <ul class="feed">
          ${feed.length === 0 && html`<li class="muted">Nothing yet; changes appear here as they happen.</li>`}
          ${feed.map(
            (entry) => html`<li key=${`${entry.rev}${entry.path}`} class=${`change ${entry.change}`}>
              <a onClick=${() => entry.change !== "deleted" && setSelected(entry.path)}>${entry.path}</a>
              <span class="muted"> ${entry.change} · r${entry.rev} · ${describeSource(entry.source)}</span>
            </li>`,
          )}
        </ul>
        <${Checkpoints} rev=${rev} onError=${fail} />
      </aside>
    </main>
  `;
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

function Tree(props: {
  path: string;
  depth: number;
  rev: number;
  selected?: string;
  onOpen: (path: string) => void;
  flashed: (path: string) => boolean;
  onError: (error: unknown) => void;
}) {
  const [entries, setEntries] = useState<Entry[] | undefined>();
  const [open, setOpen] = useState<Record<string, boolean>>({});
  useEffect(() => {
    getJson<{ entries: Entry[] }>(filePath(props.path))
      .then((listing) => setEntries(listing.entries))
      .catch(props.onError);
  }, [props.path, props.rev]);
  if (!entries) return null;
  return html`<ul class="tree">
    ${entries.map((entry) => {
      const path = join(props.path, entry.name);
      const isDir = entry.type === "directory";
      const classes = [entry.ignored ? "dim" : "", props.flashed(path) ? "flash" : "", props.selected === path ? "selected" : ""].join(" ");
      return html`<li key=${path}>
        <a class=${classes} data-path=${path} onClick=${() => (isDir ? setOpen({ ...open, [path]: !open[path] }) : props.onOpen(path))}>
          ${isDir ? (open[path] ? "▾ " : "▸ ") : ""}${entry.name}${isDir ? "/" : ""}
        </a>
        ${isDir && open[path] && html`<${Tree} ...${props} path=${path} depth=${props.depth + 1} />`}
      </li>`;
    })}
  </ul>`;
}

function Search({ onOpen, onError }: { onOpen: (path: string) => void; onError: (error: unknown) => void }) {
  const [query, setQuery] = useState("");
  const [mode, setMode] = useState<"grep" | "find">("grep");
  const [results, setResults] = useState<{ path: string; line?: number; text?: string }[] | undefined>();
  const run = async (event: Event) => {
    event.preventDefault();
    if (!query) return setResults(undefined);
    try {
      const answer = await getJson<{ lines?: { path: string; line: number; text: string }[]; matches?: { path: string }[] }>(
        `/search?${mode}=${encodeURIComponent(query)}`,
      );
      setResults(answer.lines ?? answer.matches ?? []);
    } catch (error) {
      onError(error);
    }
  };
  return html`<form class="search" onSubmit=${run}>
    <input aria-label="Search" placeholder=${mode === "grep" ? "text in files" : "glob, such as **/*.ts"} value=${query} onInput=${(event: Event) => setQuery((event.target as HTMLInputElement).value)} />
    <select aria-label="Search mode" value=${mode} onChange=${(event: Event) => setMode((event.target as HTMLSelectElement).value as "grep" | "find")}>
      <option value="grep">contents</option><option value="find">names</option>
    </select>
    ${
      results &&
      html`<ul class="results">
      ${results.length === 0 && html`<li class="muted">No matches.</li>`}
      ${results.map((result) => html`<li><a onClick=${() => onOpen(result.path)}>${result.path}${result.line ? `:${result.line}` : ""}</a>${result.text ? html` <code>${result.text.trim()}</code>` : ""}</li>`)}
    </ul>`
    }
  </form>`;
}

function FileView({ path, rev, onError }: { path: string; rev: number; onError: (error: unknown) => void }) {
  const [content, setContent] = useState<{ kind: "text"; text: string } | { kind: "image"; url: string } | { kind: "binary"; size: number } | undefined>();
  const [tab, setTab] = useState<"file" | "history">("file");
  useEffect(() => {
    let url: string | undefined;
    request(filePath(path))
      .then(async (response) => {
        const bytes = new Uint8Array(await response.arrayBuffer());
        const image = /\.(png|jpe?g|gif|webp|svg)$/i.test(path);
        if (image) {
          url = URL.createObjectURL(new Blob([bytes], { type: path.endsWith(".svg") ? "image/svg+xml" : "image/*" }));
          return setContent({ kind: "image", url });
        }
        if (bytes.subarray(0, 8000).includes(0)) return setContent({ kind: "binary", size: bytes.length });
        setContent({ kind: "text", text: new TextDecoder().decode(bytes) });
      })
      .catch(onError);
    return () => url && URL.revokeObjectURL(url);
  }, [path, rev]);
  return html`<div class="file">
    <h2>${path}</h2>
    <div class="tabs">
      <button class=${tab === "file" ? "on" : ""} onClick=${() => setTab("file")}>File</button>
      <button class=${tab === "history" ? "on" : ""} onClick=${() => setTab("history")}>History</button>
    </div>
    ${tab === "history" ? html`<${FileHistory} path=${path} rev=${rev} onError=${onError} />` : html`<${Content} path=${path} content=${content} />`}
  </div>`;
}

function Content({ path, content }: { path: string; content?: { kind: string; text?: string; url?: string; size?: number } }) {
  if (!content) return html`<p class="muted">Loading…</p>`;
  if (content.kind === "image") return html`<img src=${content.url} alt=${path} />`;
  if (content.kind === "binary") return html`<p class="muted">A binary file of ${content.size} bytes.</p>`;
  const text = content.text ?? "";
  const extension = path.slice(path.lastIndexOf(".") + 1);
  const highlighted = hljs.getLanguage(extension) ? hljs.highlight(text, { language: extension }) : hljs.highlightAuto(text);
  const lines = text.split("\n").length;
  return html`<div class="code">
    <pre class="gutter">${Array.from({ length: lines }, (_, i) => `${i + 1}\n`).join("")}</pre>
    <pre><code class="hljs" dangerouslySetInnerHTML=${{ __html: highlighted.value }} /></pre>
  </div>`;
}

function FileHistory({ path, rev, onError }: { path: string; rev: number; onError: (error: unknown) => void }) {
  const [versions, setVersions] = useState<Version[] | undefined>();
  const [diff, setDiff] = useState<{ rev: number; patch: string } | undefined>();
  useEffect(() => {
    getJson<{ entries: Version[] }>(`/history?path=${encodeURIComponent(path)}&limit=50`)
      .then((page) => setVersions(page.entries))
      .catch(onError);
  }, [path, rev]);
  const show = async (version: Version) => {
    try {
      const answer = await getJson<{ changes: { patch?: string; binary?: boolean }[] }>(
        `/diff?from=${version.rev - 1}&to=${version.rev}&path=${encodeURIComponent(path)}`,
      );
      setDiff({ rev: version.rev, patch: answer.changes[0]?.patch ?? (answer.changes[0]?.binary ? "(binary content changed)" : "(no content change)") });
    } catch (error) {
      onError(error);
    }
  };
  const restore = async (version: Version) => {
    if (!confirm(`Restore ${path} to revision ${version.rev}? The restore is itself a revision, so it can be undone.`)) return;
    try {
      await postJson("/restore", { path, to: version.rev });
    } catch (error) {
      onError(error);
    }
  };
  if (!versions) return html`<p class="muted">Loading…</p>`;
  return html`<table class="versions">
      ${versions.map(
        (version) => html`<tr key=${version.rev}>
          <td>r${version.rev}</td><td>${time(version.at)}</td><td class=${`change ${version.change}`}>${version.change}</td>
          <td>${describeSource(version.source)}</td>
          <td><button onClick=${() => show(version)}>Diff</button>${version.change !== "deleted" && html`<button onClick=${() => restore(version)}>Restore</button>`}</td>
        </tr>`,
      )}
    </table>
    ${diff && html`<h3>Revision ${diff.rev}</h3><pre class="diff"><code class="hljs" dangerouslySetInnerHTML=${{ __html: hljs.highlight(diff.patch, { language: "diff" }).value }} /></pre>`}`;
}

function Checkpoints({ rev, onError }: { rev: number; onError: (error: unknown) => void }) {
  const [checkpoints, setCheckpoints] = useState<Checkpoint[]>([]);
  useEffect(() => {
    getJson<{ checkpoints: Checkpoint[] }>("/history?limit=1")
      .then((page) => setCheckpoints(page.checkpoints.slice(0, 20)))
      .catch(onError);
  }, [rev]);
  const restore = async (checkpoint: Checkpoint) => {
    if (!confirm(`Restore the whole workspace to checkpoint "${checkpoint.label}" (revision ${checkpoint.rev})?`)) return;
    await postJson("/restore", { to: `checkpoint:${checkpoint.id}` }).catch(onError);
  };
  return html`<h3>Checkpoints</h3>
    <ul class="checkpoints">
      ${checkpoints.length === 0 && html`<li class="muted">None yet.</li>`}
      ${checkpoints.map(
        (checkpoint) => html`<li key=${checkpoint.id}>${checkpoint.auto ? html`<span class="muted">auto</span> ` : ""}${checkpoint.label}
          <span class="muted"> r${checkpoint.rev}</span> <button onClick=${() => restore(checkpoint)}>Restore</button></li>`,
      )}
    </ul>`;
}

function Sandboxes({ rev, onError }: { rev: number; onError: (error: unknown) => void }) {
  const [sandboxes, setSandboxes] = useState<Sandbox[]>([]);
  useEffect(() => {
    getJson<{ sandboxes: Sandbox[] }>("/sandboxes")
      .then((answer) => setSandboxes(answer.sandboxes))
      .catch(onError);
  }, [rev]);
  return html`<span class="sandboxes">
    ${
      sandboxes.length === 0
        ? html`<span class="muted">no sandbox attached</span>`
        : sandboxes.map(
            (sandbox) =>
              html`<span class="sandbox" title=${sandbox.mountpoint}>● ${sandbox.name}${sandbox.running.length ? ` (running: ${sandbox.running.join("; ")})` : ""}</span>`,
          )
    }
  </span>`;
}

render(html`<${App} />`, document.getElementById("app")!);
