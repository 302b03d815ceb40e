/* Milkbot's operator page.
 *
 * Asks for the operator token and keeps it in this tab's sessionStorage, nowhere else (no cookie,
 * no URL, nothing that outlives the tab); every request to the operator API carries it as a
 * bearer header. An answer of 401 forgets it and asks again, saying it was refused.
 *
 * Every 5 seconds it reads the API and updates the page in place: rows are keyed and reused, text
 * is written only when it changed, and an answer identical to the last one is not rendered again.
 * A failed refresh keeps the last data on screen and says since when it is stale.
 *
 * Every string from the API reaches the page as text (textContent, or an attribute), never as
 * HTML. Nothing loads from another host and nothing sets a style attribute (the CSP forbids
 * both): the bars are sized through a custom property set through the CSSOM.
 */
(() => {
  "use strict";

  const REFRESH_MS = 5000;
  const FETCH_TIMEOUT_MS = 4500;
  // A kill is one append to the ledger: it may wait longer than a read for a busy database.
  const ACTION_TIMEOUT_MS = 15000;
  const ALERTS_SHOWN = 20;
  const TOKEN_KEY = "milkbot.operator.token";
  const API = {
    risk: "/api/operator/risk",
    exposure: "/api/operator/exposure",
    positions: "/api/operator/positions",
    orders: "/api/operator/orders",
    alerts: `/api/operator/alerts?limit=${ALERTS_SHOWN}`,
    health: "/healthz",
  };
  const KILL = "/api/operator/kill";
  const RESUME = "/api/operator/resume";
  // A bar turns amber from this share of its limit, red at the limit.
  const WARN_AT = 0.8;
  const USAGE = {
    open_orders: "Open orders",
    market_loss: "Worst market loss",
    city_loss: "Worst city loss",
    cluster_loss: "Worst cluster loss",
    portfolio_loss: "Portfolio loss",
  };

  // What the page holds between refreshes.
  const lastText = {};
  let staleSince = null;
  let timer = null;
  let inFlight = false;
  let refreshWanted = false;
  // Bumped on every sign-in and sign-out, so an answer to an older session is dropped.
  let session = 0;

  // -- the token: this tab's sessionStorage only -----------------------------------------------

  const token = {
    get: () => sessionStorage.getItem(TOKEN_KEY),
    set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
    forget: () => sessionStorage.removeItem(TOKEN_KEY),
  };

  /** The API refused the token (401). */
  class Refused extends Error {}

  async function call(url, { method = "GET", body, timeout = FETCH_TIMEOUT_MS } = {}) {
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(), timeout);
    const headers = { Accept: "application/json", Authorization: `Bearer ${token.get()}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    try {
      const response = await fetch(url, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store", credentials: "omit", signal: controller.signal,
      });
      if (response.status === 401) throw new Refused("the operator token was refused");
      return response;
    } finally {
      clearTimeout(deadline);
    }
  }

  async function read(url) {
    const response = await call(url);
    // /healthz answers 503 when the ledger is down, with the body that says so.
    if (!response.ok && !(url === API.health && response.status === 503)) {
      throw new Error(`${url}: HTTP ${response.status}`);
    }
    return response.text();
  }

  // -- formatting -------------------------------------------------------------------------------

  const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  const usdSigned = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", signDisplay: "exceptZero" });
  const integer = new Intl.NumberFormat("en-US");
  const percent = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1 });
  const timeFull = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit",
    second: "2-digit", timeZoneName: "short",
  });
  const timeShort = new Intl.DateTimeFormat(undefined, {
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  const clock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit", second: "2-digit" });

  const absent = (value) => value === null || value === undefined;
  const money = (text) => (absent(text) ? "–" : usd.format(Number(text)));
  const signedMoney = (text) => (absent(text) ? "–" : usdSigned.format(Number(text)).replace("-", "−"));
  const ratio = (value) => (absent(value) ? "–" : percent.format(value));
  const when = (iso) => (iso ? new Date(iso) : null);
  const at = (iso) => (iso ? timeShort.format(when(iso)) : "–");

  /** A price in dollars ("0.4350") as cents ("43.5¢"). */
  function cents(text) {
    if (absent(text)) return "–";
    const value = Math.round(Number(text) * 10000) / 100;
    return `${Number.isInteger(value) ? value.toFixed(0) : String(value)}¢`;
  }

  /** A signed position (YES positive, NO negative) as "5 YES" or "3 NO". */
  const held = (position) => `${integer.format(Math.abs(position))} ${position < 0 ? "NO" : "YES"}`;

  function age(seconds) {
    if (absent(seconds)) return "never";
    if (seconds < 120) return `${Math.round(seconds)} s`;
    if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
    if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
    return `${Math.round(seconds / 86400)} d`;
  }

  /** A limit's value as the API gives it: a number, a string, or a table per market kind. */
  function limitValue(value) {
    if (absent(value)) return "none";
    if (typeof value === "object") return Object.entries(value).map(([k, v]) => `${k} ${v}`).join(" · ");
    return String(value);
  }

  const feedName = (feed) => feed.replace(":", " · ").replaceAll("_", " ");

  // -- the DOM, touched only where something changed -------------------------------------------

  const { $, el, setText, setAttr, sync } = window.MilkbotDom;

  function setTone(node, text) {
    const value = Number(text);
    node.classList.toggle("pos", value > 0);
    node.classList.toggle("neg", value < 0);
  }

  /** ``sync`` for a table body of ``cells`` columns, with one row saying ``empty`` when there
   * are no items. */
  function syncRows(body, items, keyOf, cells, update, empty) {
    if (items.length === 0) {
      sync(body, [empty], () => "empty", () => {
        const row = el("tr", "empty");
        const cell = el("td", "", empty);
        cell.colSpan = cells.length;
        row.append(cell);
        return row;
      }, () => {});
      return;
    }
    sync(body, items, keyOf, () => {
      const row = el("tr");
      cells.forEach((className, i) => {
        const cell = el(i === 0 ? "th" : "td", className);
        if (i === 0) cell.scope = "row";
        row.append(cell);
      });
      return row;
    }, (row, item) => update([...row.cells], item));
  }

  function createBar() {
    const bar = el("span", "bar");
    bar.setAttribute("role", "meter");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.append(el("span", "bar__fill"));
    return bar;
  }

  /** ``usage``: the share of the limit used (null: no limit, or none known). */
  function setBar(bar, usage, label) {
    const shown = absent(usage) ? 0 : Math.max(0, Math.min(1, usage));
    const fill = `${(shown * 100).toFixed(2)}%`;
    if (bar.style.getPropertyValue("--fill") !== fill) bar.style.setProperty("--fill", fill);
    bar.classList.toggle("is-warn", !absent(usage) && usage >= WARN_AT && usage < 1);
    bar.classList.toggle("is-over", !absent(usage) && usage >= 1);
    bar.classList.toggle("is-unknown", absent(usage));
    setAttr(bar, "aria-valuenow", absent(usage) ? "0" : (usage * 100).toFixed(2));
    setAttr(bar, "aria-label", `${label}: ${absent(usage) ? "no limit known" : `${ratio(usage)} of the limit`}`);
  }

  function setState(node, state) {
    setText(node, state ? state.toUpperCase() : "UNKNOWN");
    node.dataset.state = state || "unknown";
  }

  // -- trading, limits and breaches (/risk) -----------------------------------------------------

  function renderRisk(risk) {
    const trading = risk.trading;
    setState($("book-state"), trading.state);
    setText($("book-why"), trading.why || (trading.state === "active" ? "Nothing holds the whole book back." : ""));

    const cities = Object.entries(trading.cities).map(([code, c]) => ({ code, ...c }));
    syncRows($("cities-body"), cities, (c) => c.code, ["", "", "why"], ([code, state, reason], c) => {
      setText(code, c.code);
      if (!state.firstElementChild) state.append(el("span", "state-pill"));
      setState(state.firstElementChild, c.state);
      // The book's reasons are shown once, above.
      setText(reason, c.own || (c.state === "active" ? "–" : "as the whole book"));
    }, "No trading state recorded yet.");

    const scope = $("resume-scope");
    const wanted = ["", ...cities.map((c) => c.code)];
    if ([...scope.options].map((o) => o.value).join() !== wanted.join()) {
      const chosen = scope.value;
      scope.replaceChildren(new Option("All cities", ""), ...cities.map((c) => new Option(c.code, c.code)));
      scope.value = wanted.includes(chosen) ? chosen : "";
    }

    const usage = Object.entries(USAGE).filter(([name]) => risk.usage[name]).map(([name, label]) => ({ name, label, ...risk.usage[name] }));
    sync($("usage"), usage, (u) => u.name, () => {
      const li = el("li", "usage");
      li.append(el("span", "usage__name"), el("span", "usage__value"), createBar(), el("span", "usage__share"));
      return li;
    }, (li, u) => {
      const [name, value, bar, share] = li.children;
      const amount = u.name === "open_orders" ? (v) => integer.format(v) : money;
      setText(name, u.label);
      const equity = u.name === "portfolio_loss" && u.equity ? ` (equity ${money(u.equity)})` : "";
      setText(value, absent(u.limit) ? `${amount(u.value)}, no limit known` : `${amount(u.value)} of ${amount(u.limit)}${equity}`);
      setBar(bar, u.usage, u.label);
      setText(share, ratio(u.usage));
    });

    setText($("balance"), risk.balance
      ? `Venue balance ${money(risk.balance.dollars)}, read ${at(risk.balance.read_at)}`
      : "No venue balance read yet.");

    sync($("limits"), Object.entries(risk.limits), ([name]) => name, () => {
      const row = el("div", "limit");
      row.append(el("dt"), el("dd"));
      return row;
    }, (row, [name, value]) => {
      setText(row.firstElementChild, name.replaceAll("_", " "));
      setText(row.lastElementChild, limitValue(value));
    });

    syncRows($("breaches-body"), risk.breaches, (b) => `${b.recorded_at} ${b.limit} ${b.scope} ${b.scope_key} ${b.value}`,
      ["", "", "", "num", "num", ""], ([recorded, limit, scope, value, threshold, action], b) => {
        setText(recorded, at(b.recorded_at));
        setText(limit, b.limit);
        setText(scope, b.scope_key ? `${b.scope} ${b.scope_key}` : b.scope);
        setText(value, String(b.value));
        setText(threshold, String(b.threshold));
        setText(action, b.action);
      }, "No limit breached recently.");
  }

  // -- exposure ---------------------------------------------------------------------------------

  function lossCells(cells, item, name) {
    const [loss, cap] = cells;
    setText(loss, money(item.loss));
    if (!cap.firstElementChild) cap.append(createBar(), el("span", "cap__text"));
    setBar(cap.firstElementChild, item.usage, `${name} loss`);
    setText(cap.lastElementChild, `${ratio(item.usage)} of ${money(item.limit)}`);
  }

  function renderExposure(exposure) {
    setText($("exposure-total"), money(exposure.total));
    syncRows($("exposure-cities-body"), exposure.cities, (c) => c.city, ["", "", "num", "cap"], ([city, cluster, ...rest], c) => {
      setText(city, c.city);
      setText(cluster, c.cluster);
      lossCells(rest, c, c.city);
    }, "Nothing at risk in any city.");
    syncRows($("exposure-clusters-body"), exposure.clusters, (c) => c.cluster, ["", "num", "cap"], ([cluster, ...rest], c) => {
      setText(cluster, c.cluster);
      lossCells(rest, c, c.cluster);
    }, "Nothing at risk in any cluster.");
  }

  // -- positions, orders, alerts ----------------------------------------------------------------

  function renderPositions(answer) {
    const total = answer.pnl.portfolio;
    for (const [id, field] of [["pnl-realized", "realized"], ["pnl-unrealized", "unrealized"]]) {
      setText($(id), total ? signedMoney(total[field]) : "–");
      setTone($(id), total ? total[field] : 0);
    }
    setText($("pnl-fees"), total ? money(total.fees) : "–");
    setText($("pnl-open"), total ? integer.format(total.open_contracts) : "–");

    syncRows($("positions-body"), answer.positions, (p) => p.ticker,
      ["ticker", "", "num", "num", "num", "num", "num", "num", ""],
      ([ticker, city, position, mark, cost, unrealized, realized, fees, updated], p) => {
        setText(ticker, p.ticker);
        setText(city, p.city);
        setText(position, held(p.position));
        position.classList.toggle("side--yes", p.position > 0);
        position.classList.toggle("side--no", p.position < 0);
        setText(mark, cents(p.mark));
        setText(cost, money(p.cost));
        setText(unrealized, signedMoney(p.unrealized));
        setTone(unrealized, p.unrealized);
        setText(realized, signedMoney(p.realized));
        setTone(realized, p.realized);
        setText(fees, money(p.fees));
        setText(updated, at(p.updated_at));
      }, "No open position.");
  }

  function renderOrders(answer) {
    syncRows($("orders-body"), answer.orders, (o) => o.client_order_id,
      ["", "", "ticker", "", "num", "num", "num", "", "ticker"],
      ([submitted, city, ticker, order, price, filled, remaining, status, id], o) => {
        setText(submitted, at(o.submitted_at));
        setText(city, o.city);
        setText(ticker, o.ticker);
        setText(order, `${o.action === "sell" ? "Sell" : "Buy"} ${o.side.toUpperCase()}${o.post_only ? " · post only" : ""}`);
        setAttr(order, "class", `side--${o.side}`);
        setText(price, cents(o.price));
        setText(filled, `${integer.format(o.filled)} / ${integer.format(o.ordered)}`);
        setText(remaining, integer.format(o.remaining));
        setText(status, o.status);
        setText(id, o.client_order_id);
        setAttr(id, "title", `venue order ${o.venue_order_id || "not yet known"}${o.decision_id ? ` · decision ${o.decision_id}` : ""}`);
      }, "No open order.");
  }

  function renderAlerts(answer) {
    syncRows($("alerts-body"), answer.alerts, (a) => `${a.stream} ${a.recorded_at}`, ["", "", "", "message"],
      ([raised, severity, kind, message], a) => {
        setText(raised, at(a.recorded_at));
        if (!severity.firstElementChild) severity.append(el("span", "pill"));
        setText(severity.firstElementChild, a.severity);
        severity.firstElementChild.dataset.severity = a.severity;
        setText(kind, a.kind);
        if (!message.firstElementChild) message.append(el("span"), el("span", "context"));
        setText(message.firstElementChild, a.message);
        const context = a.context && Object.keys(a.context).length ? JSON.stringify(a.context) : "";
        setText(message.lastElementChild, context);
      }, "No alert.");
  }

  // -- health and feeds -------------------------------------------------------------------------

  function renderHealth(health) {
    const status = $("health-status");
    setText(status, health.status);
    status.dataset.status = health.status;
    const problems = health.problems || [];
    setText($("health-problems"), problems.length ? `${problems.length} ${problems.length === 1 ? "problem" : "problems"}` : "");
    setAttr($("health-problems"), "title", problems.join("\n"));

    const cities = Object.keys(health.feeds || {}).sort();
    const feeds = [...new Set(cities.flatMap((c) => Object.keys(health.feeds[c])))].sort();
    const head = $("feeds-head");
    if (head.dataset.feeds !== feeds.join()) {
      // The columns change only with the configuration: rebuilt then, rows and all.
      const row = el("tr");
      row.append(el("th", "", "City"), ...feeds.map((f) => el("th", "", feedName(f))));
      for (const cell of row.cells) cell.scope = "col";
      head.replaceChildren(row);
      head.dataset.feeds = feeds.join();
      $("feeds-body").replaceChildren();
    }
    const rows = cities.map((city) => ({ city, feeds: health.feeds[city] }));
    syncRows($("feeds-body"), rows, (r) => r.city, ["", ...feeds.map(() => "feed")], ([city, ...cells], r) => {
      setText(city, r.city);
      cells.forEach((cell, i) => {
        const feed = r.feeds[feeds[i]];
        setText(cell, feed ? `${age(feed.age_seconds)} / ${age(feed.limit_seconds)}` : "–");
        cell.classList.toggle("is-stale", Boolean(feed && feed.stale));
        cell.classList.toggle("is-absent", !feed);
        setAttr(cell, "title", feed
          ? `${r.city} ${feeds[i]}: ${feed.stale ? "STALE, " : ""}latest good snapshot ${feed.age_seconds === null ? "never" : `${age(feed.age_seconds)} old`}, stale after ${age(feed.limit_seconds)}`
          : `${r.city} does not trade on ${feeds[i]}`);
      });
    }, "No feed is watched.");
  }

  // -- sign in, sign out ------------------------------------------------------------------------

  function showSignIn(message) {
    session += 1;
    clearTimeout(timer);
    delete document.documentElement.dataset.state;
    $("console").hidden = true;
    $("freshness").hidden = true;
    $("sign-in").hidden = false;
    setText($("sign-in-message"), message);
    $("sign-in-submit").disabled = false;
    const input = $("token");
    input.value = "";
    input.focus();
    for (const name of Object.keys(lastText)) delete lastText[name];
    staleSince = null;
  }

  /** The API refused the token: forget it and ask again. */
  function refuse() {
    token.forget();
    showSignIn("The token was refused. Enter it again.");
  }

  function signIn(event) {
    event.preventDefault();
    const given = $("token").value.trim();
    if (!given) {
      setText($("sign-in-message"), "Enter the operator token.");
      return;
    }
    token.set(given);
    $("token").value = "";
    $("sign-in-submit").disabled = true;
    setText($("sign-in-message"), "Checking the token…");
    schedule(0);
  }

  function signOut() {
    token.forget();
    showSignIn("The token is forgotten. Enter it to open the console again.");
  }

  // -- kill and resume --------------------------------------------------------------------------

  function showResult(ok, title, recorded = []) {
    const box = $("action-result");
    box.hidden = false;
    box.classList.toggle("is-error", !ok);
    setText($("action-title"), title);
    $("action-events").replaceChildren(...recorded.map((e) => el(
      "li", "", `${e.event} · ${e.stream} v${e.version} · recorded ${timeFull.format(when(e.recorded_at))}`)));
  }

  async function command(kind, event) {
    event.preventDefault();
    const reasonInput = $(`${kind}-reason`);
    const reason = reasonInput.value.trim();
    const city = kind === "resume" ? $("resume-scope").value : "";
    const what = kind === "kill" ? "The kill switch" : `Resuming ${city || "all cities"}`;
    if (!reason) {
      showResult(false, `${what} needs a reason: the ledger records it with the command.`);
      reasonInput.focus();
      return;
    }
    const body = city ? { reason, city } : { reason };
    const buttons = [$("kill-button"), $("resume-button")];
    for (const button of buttons) button.disabled = true;
    const mine = session;
    try {
      const response = await call(kind === "kill" ? KILL : RESUME, { method: "POST", body, timeout: ACTION_TIMEOUT_MS });
      const answer = await response.json().catch(() => ({}));
      if (mine !== session) return;
      if (!response.ok) {
        showResult(false, `${what} was refused (HTTP ${response.status}): ${answer.error || "no reason given"}. Nothing was recorded.`);
        return;
      }
      const done = kind === "kill" ? "Kill switch engaged: all trading halted" : `Resumed ${answer.scope === "all" ? "all cities" : answer.scope}`;
      showResult(true, `${done} at ${clock.format(new Date())}. Recorded:`, answer.recorded || []);
      reasonInput.value = "";
      schedule(0);  // the state as the ledger now has it, as soon as the projections fold it
    } catch (error) {
      if (error instanceof Refused) {
        refuse();
        return;
      }
      if (mine === session) {
        showResult(false, `${what}: no answer from the operator app (${error.message}). It may or may not have been recorded: check the state before trying again.`);
      }
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  }

  // -- the refresh loop -------------------------------------------------------------------------

  const RENDER = {
    risk: renderRisk, exposure: renderExposure, positions: renderPositions,
    orders: renderOrders, alerts: renderAlerts, health: renderHealth,
  };
  function renderStatus(failed, asOf) {
    const status = $("status");
    if (asOf) {
      setAttr($("as-of"), "datetime", asOf);
      setText($("as-of"), timeFull.format(when(asOf)));
    }
    if (failed.length === 0) {
      staleSince = null;
      status.className = "freshness__status is-live";
      setText($("status-text"), "Live · refreshes every 5 s");
      return;
    }
    staleSince = staleSince || new Date();
    status.className = "freshness__status is-stale";
    setText($("status-text"), `Stale since ${clock.format(staleSince)} · ${failed.join(", ")} failed · retrying`);
  }

  async function refresh() {
    const mine = session;
    const names = Object.keys(API);
    const results = await Promise.allSettled(names.map((name) => read(API[name])));
    if (mine !== session) return;
    if (results.some((r) => r.status === "rejected" && r.reason instanceof Refused)) {
      refuse();
      return;
    }
    const failed = [];
    let asOf = null;
    results.forEach((result, i) => {
      const name = names[i];
      if (result.status === "rejected") {
        failed.push(name);
        return;
      }
      try {
        const data = JSON.parse(result.value);
        if (name !== "health" && data.as_of && (!asOf || data.as_of > asOf)) asOf = data.as_of;
        if (result.value === lastText[name]) return;
        RENDER[name](data);
        lastText[name] = result.value;
      } catch (error) {
        failed.push(name);
        console.warn(`milkbot: could not show ${name}`, error);
      }
    });
    if (failed.length === names.length && $("console").hidden) {
      setText($("sign-in-message"), "The operator app does not answer; trying again every 5 s.");
      $("sign-in-submit").disabled = false;
      return;
    }
    $("sign-in").hidden = true;
    $("console").hidden = false;
    $("freshness").hidden = false;
    renderStatus(failed, asOf);
    if (failed.length === 0) document.documentElement.dataset.state = "ready";
  }

  // Every 5 s from the start of the last refresh, never two at once; paused while the tab is
  // hidden, and refreshed at once when it shows again.
  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  }

  async function tick() {
    if (document.hidden || !token.get()) return;
    if (inFlight) {
      refreshWanted = true;  // asked for during a refresh (after a command): once it ends
      return;
    }
    inFlight = true;
    refreshWanted = false;
    const started = performance.now();
    try {
      await refresh();
    } finally {
      inFlight = false;
      schedule(refreshWanted ? 0 : Math.max(250, REFRESH_MS - (performance.now() - started)));
    }
  }

  function boot() {
    $("sign-in-form").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", signOut);
    $("kill-form").addEventListener("submit", (event) => command("kill", event));
    $("resume-form").addEventListener("submit", (event) => command("resume", event));
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && token.get()) schedule(0);
    });
    if (token.get()) {
      setText($("sign-in-message"), "Checking the token…");
      schedule(0);
    } else {
      $("token").focus();
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
