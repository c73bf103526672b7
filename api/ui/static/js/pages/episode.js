// The trajectory viewer: one episode step by step. Steps stream in pages by index (a long
// episode is never loaded whole); j/k or the arrow keys move between steps, and the address
// (#step-N) always names the current step, so it can be shared.

import { api, query, ui } from "../api.js";
import { boot, every, pageId } from "../app.js";
import { badge, card, fmt, foldable, h, kv, link, pre, replace, table } from "../dom.js";
import { diffStat, diffView } from "../diff.js";

const PAGE = 50;

function header(ep) {
  const t = ep.totals || {};
  return kv([
    ["exit", h("span", {}, badge(ep.exit_status || ep.status, ep.exit_status || ep.status), ep.exit_detail ? h("span", { class: "muted" }, ` ${ep.exit_detail}`) : null)],
    ["reward", h("span", { id: "reward" }, fmt.reward(ep.reward))],
    ["policy", `${ep.policy.kind}${ep.policy.model ? ` (${ep.policy.model})` : ""}, seed ${ep.seed}`],
    ["task", ep.task_id ? link(ui(`/tasks/${ep.task_id}`), `#${ep.task_id}`) : "none (exploration)"],
    ["environment", link(ui(`/environments/${ep.environment_id}`), `#${ep.environment_id}`)],
    ["steps", h("span", { id: "total-steps" }, fmt.num(t.steps))],
    ["tokens", `${fmt.num(t.prompt_tokens)} prompt · ${fmt.num(t.completion_tokens)} completion`],
    ["time", `${fmt.ms(t.llm_ms)} model · ${fmt.ms(t.exec_ms)} tools · ${ep.finished_at ? fmt.between(ep.started_at, ep.finished_at) : "running"} wall`],
    ["started", fmt.time(ep.started_at)],
    ["limits", Object.entries(ep.limits || {}).map(([k, v]) => `${k}=${v}`).join(" ")],
  ]);
}

function testResults(results) {
  return table(
    [
      { label: "test", cell: (r) => h("span", { class: "mono" }, r.test_id), class: "wide" },
      { label: "outcome", cell: (r) => badge(r.outcome) },
      { label: "expected", cell: (r) => (r.expected ? badge(r.expected) : "–") },
      { label: "", cell: (r) => (r.expected && r.expected !== r.outcome ? badge("mismatch", "failed") : "") },
    ],
    results,
    { empty: "No tests were run for this episode." },
  );
}

function actionView(st) {
  if (!st.tool) return h("p", { class: "muted", text: "no action (the reply could not be parsed)" });
  const args = st.args || {};
  if (st.diff) {
    const stat = diffStat(st.diff);
    return h("div", {}, h("div", { class: "mono small" }, `${st.tool} ${args.path} (+${stat.add} −${stat.del})`), diffView(st.diff));
  }
  if (st.tool === "bash" && typeof args.command === "string") return pre(`$ ${args.command}`, "cmd");
  const simple = Object.values(args).every((v) => typeof v !== "object" || Array.isArray(v));
  if (simple) {
    // view PATH [a b], run_tests [ids], undo_edit PATH, submit
    const words = Object.values(args).map((v) => (Array.isArray(v) ? v.join(" ") : String(v)));
    return pre([st.tool, ...words].join(" "), "cmd");
  }
  return pre(`${st.tool} ${JSON.stringify(args, null, 2)}`, "cmd");
}

function stepView(episodeId, st) {
  const obs = pre(st.observation, "obs");
  const full = st.has_full_output
    ? h("button", {
        type: "button",
        class: "link full-output",
        text: `show full output (${fmt.bytes(st.output_bytes)})`,
        onclick: async (e) => {
          const button = e.currentTarget;
          button.textContent = "loading…";
          obs.textContent = await api(`/ui/api/episodes/${episodeId}/steps/${st.index}/output`, { text: true });
          obs.classList.add("full");
          button.remove();
        },
      })
    : null;
  const exit = st.exit_code === null ? null : badge(`exit ${st.exit_code}`, st.exit_code === 0 ? "ok" : "failed");
  return h(
    "section",
    { class: "step", id: `step-${st.index}`, dataset: { index: st.index, tool: st.tool || "" } },
    h(
      "header",
      {},
      h("a", { class: "step-n", href: `#step-${st.index}` }, `Step ${st.index}`),
      st.tool ? badge(st.tool, "tool") : badge("no action", "failed"),
      exit,
      st.timed_out ? badge("timed out", "failed") : null,
      st.truncated ? badge("truncated", "warn") : null,
      h("span", { class: "muted small" }, ` ${fmt.ms(st.duration_ms)} run · ${fmt.ms(st.llm_ms)} model · ${st.prompt_tokens}+${st.completion_tokens} tokens`),
    ),
    st.error ? h("div", { class: "error" }, `format error: ${st.error}`) : null,
    h("div", { class: "block" }, h("h4", { text: "Model output" }), foldable(st.raw_output, 20, "model")),
    h("div", { class: "block action" }, h("h4", { text: "Action" }), actionView(st)),
    h("div", { class: "block" }, h("h4", { text: "Observation" }), obs, full),
  );
}

class Viewer {
  constructor(episodeId, list, status) {
    this.id = episodeId;
    this.list = list;
    this.status = status;
    this.lo = 0;
    this.hi = 0;
    this.total = 0;
    this.current = -1;
    this.queue = Promise.resolve();
    this.earlier = h("button", { type: "button", class: "load-earlier", text: "load earlier steps", onclick: () => this.serial(() => this.prepend()) });
    this.later = h("button", { type: "button", class: "load-later", text: "load more steps", onclick: () => this.serial(() => this.append()) });
  }

  // One load at a time, in order.
  serial(fn) {
    this.queue = this.queue.then(fn).catch((err) => console.warn(err));
    return this.queue;
  }

  async fetch(from, limit) {
    const page = await api(`/ui/api/episodes/${this.id}/steps${query({ from_index: from, limit })}`);
    this.total = page.total;
    return page.items;
  }

  buttons() {
    this.earlier.hidden = this.lo <= 0;
    this.later.hidden = this.hi >= this.total;
    this.status.textContent = this.total
      ? `step ${Math.max(this.current, 0)} · ${this.total} steps · loaded ${this.lo}–${this.hi - 1}`
      : "no steps yet";
  }

  async reset(at) {
    const start = Math.floor(Math.max(at, 0) / PAGE) * PAGE;
    this.list.replaceChildren();
    this.lo = this.hi = start;
    await this.append();
    if (this.hi === this.lo && start > 0) {
      // Past the end (a stale link): show the last page.
      this.lo = this.hi = Math.max(0, Math.floor((this.total - 1) / PAGE) * PAGE);
      await this.append();
    }
  }

  async append() {
    const items = await this.fetch(this.hi, PAGE);
    for (const st of items) this.list.append(stepView(this.id, st));
    if (items.length) this.hi = items[items.length - 1].index + 1;
    this.buttons();
    return items.length;
  }

  async prepend() {
    if (this.lo <= 0) return;
    const from = Math.max(0, this.lo - PAGE);
    const items = await this.fetch(from, this.lo - from);
    const anchor = this.list.firstElementChild;
    const before = anchor ? anchor.getBoundingClientRect().top : 0;
    this.list.prepend(...items.map((st) => stepView(this.id, st)));
    this.lo = from;
    if (anchor) window.scrollBy(0, anchor.getBoundingClientRect().top - before); // keep the view still
    this.buttons();
  }

  element(i) {
    return document.getElementById(`step-${i}`);
  }

  // Make step i current: load what is missing, highlight it, scroll to it, name it in the URL.
  async go(i, { scroll = true } = {}) {
    if (!this.total) return;
    i = Math.min(Math.max(i, 0), this.total - 1);
    if (i < this.lo - 2 * PAGE || i >= this.hi + 2 * PAGE) await this.reset(i);
    while (i >= this.hi && this.hi < this.total) if (!(await this.append())) break;
    while (i < this.lo) await this.prepend();
    const el = this.element(i);
    if (!el) return;
    const old = this.element(this.current);
    if (old) old.classList.remove("current");
    el.classList.add("current");
    this.current = i;
    if (scroll) el.scrollIntoView({ block: "start" });
    if (location.hash !== `#step-${i}`) history.replaceState(null, "", `#step-${i}`);
    document.body.dataset.currentStep = String(i);
    this.buttons();
    // Near the end of what is loaded: fetch the next page ahead of the reader.
    if (this.hi - i < 5 && this.hi < this.total) this.serial(() => this.append());
  }

  move(delta) {
    return this.serial(() => this.go(this.current < 0 ? 0 : this.current + delta));
  }

  toggleOutput() {
    const el = this.element(this.current);
    const button = el && el.querySelector(".full-output");
    if (button) button.click();
  }
}

function stepFromHash() {
  const m = /^#step-(\d+)$/.exec(location.hash);
  return m ? Number(m[1]) : null;
}

boot(async (main) => {
  const id = pageId();
  let ep = await api(`/v1/episodes/${id}`);
  const head = h("div", { id: "episode-head" }, header(ep));
  const status = h("span", { class: "muted", id: "step-status" });
  const list = h("div", { class: "steps", id: "steps" });
  const viewer = new Viewer(id, list, status);
  const goto = h("input", { type: "number", min: 0, id: "goto", placeholder: "step", "aria-label": "go to step" });
  const gotoForm = h("form", { class: "goto" }, goto, h("button", { type: "submit", text: "Go" }));
  gotoForm.addEventListener("submit", (e) => {
    e.preventDefault();
    if (goto.value !== "") viewer.serial(() => viewer.go(Number(goto.value)));
    goto.blur();
  });
  const patch = ep.final_patch ? diffStat(ep.final_patch) : null;
  replace(
    main,
    h("h1", {}, `Episode #${id}`),
    card(null, head),
    h(
      "div",
      { class: "two" },
      card(patch ? `Final patch (+${patch.add} −${patch.del})` : "Final patch", h("div", { id: "final-patch" }, diffView(ep.final_patch, { empty: "no patch (the episode did not submit)" }))),
      card("Test results", h("div", { id: "test-results" }, testResults(ep.test_results || []))),
    ),
    card(
      "Trajectory",
      h("div", { class: "toolbar" }, status, gotoForm, h("span", { class: "muted small keys" }, "j / ↓ next · k / ↑ previous · g first · G last · o full output")),
      viewer.earlier,
      list,
      viewer.later,
    ),
  );
  await viewer.reset(stepFromHash() ?? 0);
  const start = stepFromHash();
  await viewer.go(start ?? viewer.lo, { scroll: start !== null });

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (["INPUT", "TEXTAREA", "SELECT"].includes(e.target.tagName)) return;
    const actions = {
      j: () => viewer.move(1),
      ArrowDown: () => viewer.move(1),
      k: () => viewer.move(-1),
      ArrowUp: () => viewer.move(-1),
      g: () => viewer.serial(() => viewer.go(0)),
      Home: () => viewer.serial(() => viewer.go(0)),
      G: () => viewer.serial(() => viewer.go(viewer.total - 1)),
      End: () => viewer.serial(() => viewer.go(viewer.total - 1)),
      o: () => viewer.toggleOutput(),
    };
    const act = actions[e.key];
    if (act) {
      e.preventDefault();
      act();
    }
  });
  window.addEventListener("hashchange", () => {
    const i = stepFromHash();
    if (i !== null && i !== viewer.current) viewer.serial(() => viewer.go(i));
  });
  // Reading ahead: the next page loads as the end of the list comes into view.
  new IntersectionObserver((entries) => {
    if (entries.some((x) => x.isIntersecting) && viewer.hi < viewer.total) viewer.serial(() => viewer.append());
  }).observe(viewer.later);

  if (ep.status !== "finished") {
    // A running episode: follow new steps and the result.
    const stop = every(
      async () => {
        ep = await api(`/v1/episodes/${id}`);
        replace(head, header(ep));
        if (viewer.hi >= viewer.total) await viewer.serial(() => viewer.append());
        if (ep.status === "finished") stop();
      },
      { now: false },
    );
  }
});
