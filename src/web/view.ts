import hljs from "highlight.js/lib/common";
import htm from "htm";
import { createContext, h } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import type { Checkpoint, Entry, FeedEntry, Sandbox, SearchHit, Version, WorkspaceSource } from "./source.ts";

/**
 * The workspace's view, wherever it runs (a browser tab, an MCP App frame): the tree (lazy, what
 * .gitignore ignores dimmed), a file with highlighting and line numbers, search (find and grep),
 * the live changes (changed files flash), the attached sandboxes, and history: checkpoints, a
 * file's versions with their diffs, and restore after a confirmation.
 */

export const html = htm.bind(h);

const SourceContext = createContext<WorkspaceSource>(undefined as never);
/**
 * Asks the user a yes-or-no question inside the view: a frame in an AI client may not open the
 * browser's own dialogs (a sandbox without allow-modals makes `confirm` answer false).
 */
const AskContext = createContext<(question: string) => Promise<boolean>>(undefined as never);

const FLASH_MS = 2500;
const join = (dir: string, name: string) => (dir === "/" ? `/${name}` : `${dir}/${name}`);
const time = (ms?: number) => (ms === undefined ? "" : new Date(ms).toLocaleTimeString());
const describeSource = (source?: FeedEntry["source"]) =>
  !source ? "" : source.kind === "exec" ? `exec on ${source.name}: ${source.detail ?? ""}` : [source.kind, source.name].filter(Boolean).join(" ");

/**
 * The workspace as one view: the tree, a file, search, the live changes, checkpoints and the
 * sandboxes, over `source`, opening `initialPath` first when given. `onError` takes what failed
 * (the page asks for a token on a refusal; the MCP App shows it).
 */
export function WorkspaceView({ source, initialPath, onError }: { source: WorkspaceSource; initialPath?: string; onError?: (error: unknown) => boolean }) {
  const [selected, setSelected] = useState<string | undefined>(initialPath);
  const [feed, setFeed] = useState<FeedEntry[]>([]);
  const [flashing, setFlashing] = useState<Record<string, number>>({});
  const [rev, setRev] = useState(0);
  const [error, setError] = useState<string | undefined>();
  const [question, setQuestion] = useState<{ text: string; answer: (yes: boolean) => void } | undefined>();
  const ask = (text: string) =>
    new Promise<boolean>((resolve) =>
      setQuestion({
        text,
        answer: (yes) => {
          setQuestion(undefined);
          resolve(yes);
        },
      }),
    );

  useEffect(() => setSelected(initialPath), [initialPath]);

  const fail = (caught: unknown) => {
    if (onError?.(caught)) return;
    setError(caught instanceof Error ? caught.message : String(caught));
  };

  useEffect(() => {
    let stop = () => {};
    source
      .revision()
      .then((now) => {
        setRev(now);
        stop = source.follow(now, (entry) => {
          setRev(entry.rev);
          setFeed((old) => [entry, ...old].slice(0, 200));
          setFlashing((old) => ({ ...old, [entry.path]: Date.now() }));
          setTimeout(() => setFlashing((old) => ({ ...old })), FLASH_MS + 50);
        });
      })
      .catch(fail);
    return () => stop();
  }, [source]);

  const flashed = (path: string) => (flashing[path] ?? 0) > Date.now() - FLASH_MS;
  return html`<${SourceContext.Provider} value=${source}><${AskContext.Provider} value=${ask}>
    ${
      question &&
      html`<div class="question" role="alertdialog" aria-label="Confirm">
        <p>${question.text}</p>
        <button onClick=${() => question.answer(true)}>Yes</button> <button onClick=${() => question.answer(false)}>No</button>
      </div>`
    }
    <header>
      <strong>${source.name}</strong> <span class="muted">revision ${rev}</span>
      ${source.sandboxes && html`<${Sandboxes} rev=${rev} onError=${fail} />`}
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
  <//><//>`;
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
  const source = useContext(SourceContext);
  useEffect(() => {
    source.list(props.path).then(setEntries).catch(props.onError);
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
  const [results, setResults] = useState<SearchHit[] | undefined>();
  const source = useContext(SourceContext);
  const run = async (event: Event) => {
    event.preventDefault();
    if (!query) return setResults(undefined);
    try {
      setResults(await source.search(mode, query));
    } catch (error) {
      onError(error);
    }
  };
  // Enter on the input, not a form's submit: a frame sandboxed without allow-forms submits nothing.
  return html`<div class="search">
    <input
      aria-label="Search"
      placeholder=${mode === "grep" ? "text in files" : "glob, such as **/*.ts"}
      value=${query}
      onInput=${(event: Event) => setQuery((event.target as HTMLInputElement).value)}
      onKeyDown=${(event: KeyboardEvent) => event.key === "Enter" && run(event)}
    />
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
  </div>`;
}

function FileView({ path, rev, onError }: { path: string; rev: number; onError: (error: unknown) => void }) {
  const [content, setContent] = useState<{ kind: "text"; text: string } | { kind: "image"; url: string } | { kind: "binary"; size: number } | undefined>();
  const [tab, setTab] = useState<"file" | "history">("file");
  const source = useContext(SourceContext);
  useEffect(() => {
    let url: string | undefined;
    source
      .readFile(path)
      .then((bytes) => {
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
  const source = useContext(SourceContext);
  const ask = useContext(AskContext);
  useEffect(() => {
    source
      .history(path)
      .then((page) => setVersions(page.entries))
      .catch(onError);
  }, [path, rev]);
  const show = async (version: Version) => {
    try {
      setDiff({ rev: version.rev, patch: await source.diff(version.rev - 1, version.rev, path) });
    } catch (error) {
      onError(error);
    }
  };
  const restore = async (version: Version) => {
    if (!(await ask(`Restore ${path} to revision ${version.rev}? The restore is itself a revision, so it can be undone.`))) return;
    try {
      await source.restore(version.rev, path);
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
  const source = useContext(SourceContext);
  const ask = useContext(AskContext);
  useEffect(() => {
    source
      .history()
      .then((page) => setCheckpoints(page.checkpoints.slice(0, 20)))
      .catch(onError);
  }, [rev]);
  const restore = async (checkpoint: Checkpoint) => {
    if (!(await ask(`Restore the whole workspace to checkpoint "${checkpoint.label}" (revision ${checkpoint.rev})?`))) return;
    await source.restore(`checkpoint:${checkpoint.id}`).catch(onError);
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
  const source = useContext(SourceContext);
  useEffect(() => {
    source.sandboxes?.().then(setSandboxes).catch(onError);
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
