/* Milkbot's public dashboard.
 *
 * Reads the public JSON API every 5 seconds and updates the page in place: elements are keyed and
 * reused (never rebuilt), text is written only when it changed, charts get new data rather than
 * being recreated, and an answer identical to the last one is not rendered again. A failed fetch
 * keeps the last data on screen and says since when it is stale.
 *
 * Nothing here loads from another host, and nothing sets a style attribute (the CSP forbids
 * them): only CSS custom properties and chart sizes, through the CSSOM.
 */
(() => {
  "use strict";

  const REFRESH_MS = 5000;
  const FETCH_TIMEOUT_MS = 4500;
  const TRADES_SHOWN = 100;
  const API = {
    summary: "/api/public/summary",
    cities: "/api/public/cities",
    trades: `/api/public/trades?limit=${TRADES_SHOWN}`,
    equity: "/api/public/equity",
    calibration: "/api/public/calibration",
    execution: "/api/public/execution",
  };
  const KIND = {
    daily_high: { name: "High", unit: "°" },
    monthly_rain: { name: "Rain", unit: " in" },
    monthly_snow: { name: "Snow", unit: " in" },
  };
  const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

  // -- formatting -------------------------------------------------------------------------------

  const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  const usdSigned = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", signDisplay: "exceptZero" });
  const usdAxis = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
  const integer = new Intl.NumberFormat("en-US");
  const contractsFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
  const percent = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1 });
  const timeFull = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit",
    second: "2-digit", timeZoneName: "short",
  });
  const timeTrade = new Intl.DateTimeFormat(undefined, {
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  const timeShort = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit", second: "2-digit" });
  const weekday = new Intl.DateTimeFormat(undefined, { weekday: "short" });
  const hourZone = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit", timeZoneName: "short" });
  const timeClose = { format: (d) => `${weekday.format(d)} ${hourZone.format(d)}` };
  const dayUtc = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
  const monthUtc = new Intl.DateTimeFormat("en-US", { month: "short", year: "numeric", timeZone: "UTC" });
  const zoneName = (() => {
    const part = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" })
      .formatToParts(new Date()).find((p) => p.type === "timeZoneName");
    return part ? part.value : Intl.DateTimeFormat().resolvedOptions().timeZone;
  })();

  const num = (text) => (text === null || text === undefined ? null : Number(text));
  const money = (text) => (text === null || text === undefined ? "–" : usd.format(Number(text)));
  const signedMoney = (text) => (text === null || text === undefined ? "–" : usdSigned.format(Number(text)).replace("-", "−"));
  const tone = (text) => {
    const value = num(text);
    return value > 0 ? "pos" : value < 0 ? "neg" : "";
  };
  const ratio = (value) => (value === null || value === undefined ? "–" : percent.format(value));
  const brier = (value) => (value === null || value === undefined ? "–" : value.toFixed(3));

  /** A price in dollars ("0.4350") as cents ("43.5¢"). */
  function cents(text) {
    if (text === null || text === undefined) return "–";
    const value = Math.round(Number(text) * 10000) / 100;
    return `${Number.isInteger(value) ? value.toFixed(0) : String(value)}¢`;
  }

  /** Slippage per contract, in cents with its sign ("+1¢": we paid a cent more than decided). */
  function slippage(text) {
    if (text === null || text === undefined) return "–";
    const value = Math.round(Number(text) * 10000) / 100;
    const shown = Number.isInteger(value) ? value.toFixed(0) : value.toFixed(2);
    return `${value > 0 ? "+" : ""}${shown.replace("-", "−")}¢`;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 10) return `${seconds.toFixed(1)} s`;
    if (seconds < 120) return `${Math.round(seconds)} s`;
    if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
  }

  const contractCount = (text) => contractsFmt.format(Number(text));
  const when = (iso) => (iso ? new Date(iso) : null);
  const strikeNumber = (text) => String(Number(text));

  /** What an event ticker prices: "KXHIGHNY-26AUG28" -> {kind, label: "Aug 28", short: "Aug 28"};
   * "KXRAINNYCM-26NOV" -> {kind, label: "Nov 2026", short: "Nov"}. */
  function eventOf(ticker) {
    const [series = "", datePart = ""] = ticker.split("-");
    const kind = series.startsWith("KXHIGH") ? "daily_high"
      : series.includes("SNOW") ? "monthly_snow" : series.includes("RAIN") ? "monthly_rain" : null;
    const match = /^(\d{2})([A-Z]{3})(\d{2})?$/.exec(datePart);
    let label = datePart, short = datePart;
    if (match && MONTHS.includes(match[2])) {
      const year = 2000 + Number(match[1]);
      const month = MONTHS.indexOf(match[2]);
      if (match[3]) {
        label = short = dayUtc.format(Date.UTC(year, month, Number(match[3])));
      } else {
        label = monthUtc.format(Date.UTC(year, month, 1));
        short = label.split(" ")[0];
      }
    }
    return { kind, label, short };
  }

  /** A market's range from its strikes: "<79°", "79–80°", ">86°", ">2.5 in" (``unit`` false:
   * ">2.5", for a ladder whose heading names the unit); null when its terms do not say. */
  function strikeRange(market, kind, unit = true) {
    const suffix = unit || kind === "daily_high" ? (KIND[kind] || { unit: "" }).unit : "";
    const floor = market.floor_strike, cap = market.cap_strike;
    const has = (v) => v !== null && v !== undefined;
    switch (market.strike_type) {
      case "less": return has(cap) ? `<${strikeNumber(cap)}${suffix}` : null;
      case "less_or_equal": return has(cap) ? `≤${strikeNumber(cap)}${suffix}` : null;
      case "greater": return has(floor) ? `>${strikeNumber(floor)}${suffix}` : null;
      case "greater_or_equal": return has(floor) ? `≥${strikeNumber(floor)}${suffix}` : null;
      case "between": return has(floor) && has(cap) ? `${strikeNumber(floor)}–${strikeNumber(cap)}${suffix}` : null;
      default: return null;
    }
  }

  function strikeLabel(market, kind, unit = true) {
    return strikeRange(market, kind, unit) || market.ticker.split("-").slice(2).join("-");
  }

  /** The range of every market whose terms an answer gave (the board's, a trade's, a
   * settlement's), so a market off the board still reads as a range, not as "T79". */
  const strikes = new Map();

  function learnTerms(item, kind = eventOf(item.ticker).kind) {
    const range = KIND[kind] ? strikeRange(item, kind) : null;
    if (range) strikes.set(item.ticker, range);
  }

  /** A readable name for a market: "High · Aug 28 · 79–80°" (``short``: "High Aug 28 79–80°";
   * ``short`` "bare": "Aug 28 79–80°" for a daily high, whose degrees say what it is). */
  function describe(ticker, short = false) {
    const { kind, label, short: shortLabel } = eventOf(ticker);
    const info = KIND[kind];
    if (!info) return ticker;
    const suffix = ticker.split("-").slice(2).join("-");
    let strike = strikes.get(ticker) || suffix;
    const between = /^B(\d+(?:\.\d+)?)$/.exec(suffix);
    if (strikes.has(ticker)) {
      // as the board showed it
    } else if (between && kind === "daily_high") {
      const low = Math.floor(Number(between[1]));
      strike = `${low}–${low + 1}°`;
    } else if (/^\d+(\.\d+)?$/.test(suffix)) {
      strike = `>${strikeNumber(suffix)}${info.unit}`;
    } else if (/^T\d+(\.\d+)?$/.test(suffix)) {
      strike = `tail ${suffix.slice(1)}${info.unit}`;  // "less" or "greater": the ticker does not say
    }
    if (short === "bare" && kind === "daily_high") return `${shortLabel} ${strike}`;
    return short ? `${info.name} ${shortLabel} ${strike}` : `${info.name} · ${label} · ${strike}`;
  }

  // -- the DOM, touched only where something changed -------------------------------------------

  const { $, el, setText, setAttr, sync } = window.MilkbotDom;

  function setTone(node, text) {
    const wanted = tone(text);
    node.classList.toggle("pos", wanted === "pos");
    node.classList.toggle("neg", wanted === "neg");
  }

  // -- headline performance ---------------------------------------------------------------------

  // The hash chain at the newest record an hour old: a fingerprint anyone can keep.
  function renderLedgerHead(head) {
    $("ledger-head").hidden = !head;
    if (!head) return;
    setText($("ledger-position"), integer.format(head.position));
    setAttr($("ledger-at"), "datetime", head.recorded_at);
    setText($("ledger-at"), timeFull.format(when(head.recorded_at)));
    setText($("ledger-hash"), head.hash);
  }

  function renderSummary(s) {
    setText($("kpi-pnl"), signedMoney(s.pnl));
    setTone($("kpi-pnl"), s.pnl);
    setText($("kpi-pnl-sub"), `realized ${signedMoney(s.realized)} · unrealized ${signedMoney(s.unrealized)}`);

    setText($("kpi-daily"), signedMoney(s.daily_pnl));
    setTone($("kpi-daily"), s.daily_pnl);
    setText($("kpi-daily-sub"), s.day_start ? `since ${timeClose.format(when(s.day_start))}` : "\u00a0");

    const drawdown = num(s.drawdown);
    setText($("kpi-drawdown"), drawdown ? `−${money(s.drawdown)}` : money(s.drawdown));
    setTone($("kpi-drawdown"), drawdown ? "-1" : "0");
    setText($("kpi-drawdown-sub"), `max ${money(s.max_drawdown)} · peak ${money(s.peak_equity)}`);

    setText($("kpi-winrate"), ratio(s.win_rate));
    setText($("kpi-winrate-sub"), `${integer.format(s.winning_markets)} of ${integer.format(s.settled_markets)} settled markets`);

    renderLedgerHead(s.ledger);

    setText($("kpi-fees"), money(s.fees));
    setText($("kpi-fees-sub"), s.trades ? `${money(num(s.fees) / s.trades)} per trade` : "\u00a0");

    setText($("kpi-trades"), integer.format(s.trades));
    setText($("kpi-trades-sub"), `${integer.format(s.open_positions)} open positions · ${contractCount(s.open_contracts)} contracts`);
  }

  // -- charts -----------------------------------------------------------------------------------

  /** The public delay, as the API last gave it (the page says 60 until it knows). */
  let delayMinutes = 60;

  const charts = {};
  const chartData = {};
  const chartHeights = {};

  function palette() {
    const css = getComputedStyle(document.documentElement);
    const v = (name) => css.getPropertyValue(name).trim();
    return {
      text: v("--muted"), grid: v("--grid"), border: v("--border"), accent: v("--accent"),
      pos: v("--pos"), neg: v("--neg"), faint: v("--faint"), card: v("--card"),
    };
  }

  function withAlpha(color, alpha) {
    // CSS colours here are #rrggbb.
    const match = /^#([0-9a-f]{6})$/i.exec(color);
    if (!match) return color;
    const n = parseInt(match[1], 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }

  function axis(p, extra) {
    return Object.assign({
      stroke: p.text,
      grid: { stroke: p.grid, width: 1 },
      ticks: { stroke: p.border, width: 1, size: 4 },
      font: "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    }, extra);
  }

  /** Axis labels in whole dollars, or in cents when the ticks are less than a dollar apart. */
  function moneyTicks(u, values) {
    const step = values.length > 1 ? Math.abs(values[1] - values[0]) : 1;
    const format = step < 1 ? usd : usdAxis;
    return values.map((v) => format.format(v).replace("-", "−"));
  }

  function chartSpecs(p) {
    return {
      equity: {
        height: 220,
        empty: [[], []],
        options: {
          padding: [12, 18, 0, 0],
          cursor: { sync: { key: "equity" }, drag: { x: false, y: false } },
          legend: { show: false },
          hooks: { setCursor: [(u) => equityReadout(u.cursor.idx)] },
          scales: { x: { time: true }, y: { range: (u, lo, hi) => padRange(lo, hi) } },
          axes: [axis(p), axis(p, { values: moneyTicks, size: 64 })],
          series: [
            {},
            { label: "Equity", stroke: p.accent, width: 2, fill: withAlpha(p.accent, 0.08), paths: stepped(), points: { show: false } },
          ],
        },
      },
      drawdown: {
        height: 96,
        empty: [[], []],
        options: {
          padding: [8, 18, 4, 0],
          cursor: { sync: { key: "equity" }, drag: { x: false, y: false } },
          legend: { show: false },
          scales: { x: { time: true }, y: { range: (u, lo) => [Math.min(lo, -1), 0] } },
          axes: [axis(p, { show: false }), axis(p, { values: moneyTicks, size: 64, splits: (u, i, lo) => [lo, lo / 2, 0] })],
          series: [{}, { label: "Drawdown", stroke: p.neg, width: 1.5, fill: withAlpha(p.neg, 0.15), paths: stepped(), points: { show: false } }],
        },
      },
      daily: {
        height: 318,
        empty: [[], [], []],
        options: {
          padding: [12, 12, 0, 0],
          legend: { show: false },
          cursor: { drag: { x: false, y: false }, points: { show: false } },
          hooks: { setCursor: [(u) => dailyReadout(u.cursor.idx)] },
          scales: {
            x: { time: true, range: (u, lo, hi) => (lo === null ? [0, 86400] : [lo - 43200, hi + 43200]) },
            y: { range: (u, lo, hi) => padRange(Math.min(lo, 0), Math.max(hi, 0)) },
          },
          axes: [
            axis(p, {
              splits: (u) => thinned(u.data[0], Math.max(1, Math.floor(u.bbox.width / devicePixelRatio / 64))),
              values: (u, vals) => vals.map((v) => dayUtc.format(v * 1000)),
            }),
            axis(p, { values: moneyTicks, size: 64 }),
          ],
          series: [
            {},
            { label: "Gain", stroke: p.pos, fill: withAlpha(p.pos, 0.8), width: 0, paths: bars(), points: { show: false } },
            { label: "Loss", stroke: p.neg, fill: withAlpha(p.neg, 0.8), width: 0, paths: bars(), points: { show: false } },
          ],
        },
      },
      reliability: {
        height: 300,
        empty: [[0, 1], [0, 1], [null, null]],
        options: {
          padding: [16, 16, 0, 0],
          legend: { show: false },
          cursor: { show: false },
          scales: { x: { time: false, range: [0, 1] }, y: { range: [0, 1] } },
          axes: [
            axis(p, { label: "forecast probability", size: 30, labelSize: 22, labelFont: "12px system-ui, sans-serif", values: (u, vals) => vals.map((v) => `${Math.round(v * 100)}%`) }),
            axis(p, { label: "observed frequency", labelSize: 22, labelFont: "12px system-ui, sans-serif", size: 44, values: (u, vals) => vals.map((v) => `${Math.round(v * 100)}%`) }),
          ],
          series: [
            {},
            { label: "Perfect", stroke: p.faint, width: 1, dash: [5, 5], points: { show: false }, spanGaps: true },
            { label: "Observed", stroke: p.accent, width: 1.5, points: { show: false }, spanGaps: true },
          ],
          hooks: { draw: [(u) => drawBubbles(u, p)] },
        },
      },
    };
  }

  /** At most ``most`` of ``values``, evenly spread, always keeping the last. */
  function thinned(values, most) {
    if (values.length <= most) return values.slice();
    const step = Math.ceil(values.length / most);
    return values.filter((v, i) => (values.length - 1 - i) % step === 0);
  }

  function padRange(lo, hi) {
    if (lo === null || hi === null) return [-1, 1];
    if (lo === hi) return [lo - 1, hi + 1];
    const pad = (hi - lo) * 0.08;
    return [lo - pad, hi + pad];
  }

  function bars() {
    return window.uPlot && uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 40], gap: 2 }) : undefined;
  }

  /** The curve holds its value until its next point (points are written only when it moves). */
  function stepped() {
    return window.uPlot && uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
  }

  /** The reliability diagram's dots, sized by how many markets each bucket holds. */
  let reliabilityCounts = [];
  function drawBubbles(u, p) {
    const xs = u.data[0], ys = u.data[2];
    const most = Math.max(1, ...reliabilityCounts.filter((n) => n));
    const ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = withAlpha(p.accent, 0.85);
    ctx.strokeStyle = p.card;
    ctx.lineWidth = 1.5 * devicePixelRatio;
    for (let i = 0; i < xs.length; i++) {
      if (ys[i] === null || ys[i] === undefined) continue;
      const x = u.valToPos(xs[i], "x", true), y = u.valToPos(ys[i], "y", true);
      const r = (3.5 + 7.5 * Math.sqrt((reliabilityCounts[i] || 0) / most)) * devicePixelRatio;
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
    }
    ctx.restore();
  }

  function buildCharts() {
    if (!window.uPlot) return;
    const p = palette();
    const specs = chartSpecs(p);
    for (const [name, spec] of Object.entries(specs)) {
      const target = $(`chart-${name}`);
      if (charts[name]) charts[name].destroy();
      const width = Math.max(200, target.clientWidth);
      charts[name] = new uPlot({ ...spec.options, width, height: spec.height }, chartData[name] || spec.empty, target);
      chartHeights[name] = spec.height;
    }
  }

  function setChart(name, data) {
    chartData[name] = data;
    if (charts[name]) charts[name].setData(data);
  }

  const resizer = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const name = entry.target.id.replace("chart-", "");
      const chart = charts[name];
      const width = Math.floor(entry.contentRect.width);
      if (chart && width > 0 && Math.abs(chart.width - width) > 1) chart.setSize({ width, height: chartHeights[name] });
    }
  });

  const seconds = (iso) => Date.parse(iso) / 1000;

  /** The figures under the cursor, or the latest ones when it is elsewhere. */
  function equityReadout(idx) {
    const data = chartData.equity, drawdown = chartData.drawdown;
    const node = $("equity-readout");
    if (!data || !data[0].length) return setText(node, "");
    const i = idx === null || idx === undefined ? data[0].length - 1 : idx;
    setText(node, `${timeFull.format(new Date(data[0][i] * 1000))} · equity ${signedMoney(data[1][i])} · drawdown ${signedMoney(drawdown[1][i])}`);
  }

  function dailyReadout(idx) {
    const data = chartData.daily;
    const node = $("daily-readout");
    if (!data || !data[0].length) return setText(node, "");
    const i = idx === null || idx === undefined ? data[0].length - 1 : idx;
    const value = data[1][i] ?? data[2][i];
    setText(node, `${dayUtc.format(data[0][i] * 1000)} · ${signedMoney(value)}`);
  }

  function renderEquity(eq) {
    const points = eq.points.map((pt) => [seconds(pt.ts), Number(pt.equity)]);
    if (eq.current) {
      // Every point is older than ``current`` (the point of an hour is written once the clock has
      // passed it, and is what ``current`` said then): the curve ends at ``current``, the summary's
      // figure. Should a point ever carry its time, ``current`` still wins.
      const at = seconds(eq.current.ts);
      const last = points[points.length - 1];
      if (last && last[0] === at) last[1] = Number(eq.current.equity);
      else if (!last || at > last[0]) points.push([at, Number(eq.current.equity)]);
    }
    const xs = points.map((pt) => pt[0]);
    const equity = points.map((pt) => pt[1]);
    let peak = 0;
    const drawdown = equity.map((v) => {
      peak = Math.max(peak, v);
      return Math.round((v - peak) * 100) / 100;
    });
    setChart("drawdown", [xs, drawdown]);
    setChart("equity", [xs, equity]);
    equityReadout(charts.equity ? charts.equity.cursor.idx : null);
    $("equity-empty").hidden = xs.length > 1;
    for (const name of ["equity", "drawdown"]) $(`chart-${name}`).classList.toggle("is-empty", xs.length < 2);
    renderDaily(points);
    setAttr($("chart-equity"), "aria-label", xs.length
      ? `Equity curve: ${signedMoney(equity[equity.length - 1])} now, ${xs.length} hourly points`
      : "Equity curve: no history yet");
  }

  /** P&L per UTC day: the curve's last value in the day less its last value before it. A point
   * on the stroke of midnight is the state at midnight: it closes the day before (as the
   * summary's daily P&L counts from it). The curve only has points where it moved. */
  function renderDaily(points) {
    const byDay = new Map();
    let before = 0;
    let previousDay = null;
    for (const [at, value] of points) {
      const day = (Math.ceil(at / 86400) - 1) * 86400;
      if (day !== previousDay) {
        if (previousDay !== null) before = byDay.get(previousDay).end;
        byDay.set(day, { start: before, end: value });
        previousDay = day;
      } else {
        byDay.get(day).end = value;
      }
    }
    const days = [...byDay.keys()].sort((a, b) => a - b);
    const xs = [], gains = [], losses = [];
    for (const day of days) {
      const { start, end } = byDay.get(day);
      const pnl = Math.round((end - start) * 100) / 100;
      xs.push(day + 43200);
      gains.push(pnl >= 0 ? pnl : null);
      losses.push(pnl < 0 ? pnl : null);
    }
    setChart("daily", [xs, gains, losses]);
    dailyReadout(charts.daily ? charts.daily.cursor.idx : null);
    $("daily-empty").hidden = xs.length > 0;
    $("chart-daily").classList.toggle("is-empty", xs.length === 0);
    setAttr($("chart-daily"), "aria-label", xs.length
      ? `Profit and loss per UTC day over ${xs.length} days`
      : "Profit and loss per day: no history yet");
  }

  // -- cities -----------------------------------------------------------------------------------

  function createCity() {
    const li = el("li", "card city");
    const head = el("div", "city__head");
    const title = el("h3", "city__title");
    title.append(el("span", "city__name"), el("span", "city__code"), el("span", "city__paused", "paused"));
    const pnl = el("p", "city__pnl");
    pnl.append(el("span", "city__pnl-label", "P&L"), el("span", "city__pnl-value"));
    pnl.title = "Net of fees; open positions marked at the middle of the book";

    const stats = el("dl", "city__stats");
    for (const [key, label] of [["positions", "Open positions"], ["trades", "Trades"], ["winrate", "Win rate"], ["fees", "Fees"]]) {
      const item = el("div");
      item.dataset.stat = key;
      item.append(el("dt", "", label), el("dd"));
      stats.append(item);
    }
    const id = el("div", "city__id");
    id.append(title, stats);
    head.append(id, pnl);

    const markets = el("div", "city__markets");
    markets.append(el("h4", "city__sub", "Current markets"), el("ol", "ladders"), el("p", "city__none", "No open markets on the board."));
    const results = el("div", "city__results");
    const columns = el("div", "results__head");
    columns.setAttribute("aria-hidden", "true");  // each row's cells carry their own titles
    for (const [name, title] of [["Market", ""], ["Held", "what we held when it settled (fills at least the delay old)"], ["Result", "how the market settled"], ["P&L", "what the market made us, net of fees"]]) {
      const head = el("span", "", name);
      if (title) head.title = title;
      columns.append(head);
    }
    results.append(el("h4", "city__sub", "Recent settled results"), columns, el("ol", "results"), el("p", "city__none", "No settled markets yet."));
    const body = el("div", "city__body");
    body.append(markets, results);
    li.append(head, body);
    return li;
  }

  /** "10 YES" from an answer's ``{side, count}``. */
  const holding = (p) => `${contractCount(p.count)} ${p.side.toUpperCase()}`;

  function updateCity(li, city) {
    setText(li.querySelector(".city__name"), city.name);
    setText(li.querySelector(".city__code"), city.code);
    li.querySelector(".city__paused").hidden = city.enabled !== false;
    const pnl = li.querySelector(".city__pnl-value");
    setText(pnl, signedMoney(city.pnl));
    setTone(pnl, city.pnl);

    const stat = (key) => li.querySelector(`[data-stat="${key}"] dd`);
    setText(stat("positions"), integer.format(city.open_positions));
    setText(stat("trades"), integer.format(city.trades));
    setText(stat("winrate"), city.settled_markets ? `${ratio(city.win_rate)} (${city.winning_markets}/${city.settled_markets})` : "–");
    setText(stat("fees"), money(city.fees));

    const ladders = [...city.ladders].sort((a, b) => (a.close_time || "").localeCompare(b.close_time || "") || a.event_ticker.localeCompare(b.event_ticker));
    sync(li.querySelector(".ladders"), ladders, (l) => l.event_ticker, createLadder, updateLadder);
    li.querySelector(".city__markets .city__none").hidden = ladders.length > 0;

    sync(li.querySelector(".results"), city.recent_settlements, (r) => r.ticker, createResult, updateResult);
    li.querySelector(".city__results .city__none").hidden = city.recent_settlements.length > 0;
    li.querySelector(".results__head").hidden = city.recent_settlements.length === 0;
  }

  function createLadder() {
    const li = el("li", "ladder");
    const label = el("div", "ladder__label");
    label.append(el("span", "ladder__name"), el("span", "ladder__close"));
    li.append(label, el("ol", "ladder__cells"));
    return li;
  }

  function updateLadder(li, ladder) {
    const info = KIND[ladder.kind] || { name: ladder.kind, unit: "" };
    const { label } = eventOf(ladder.event_ticker);
    setText(li.querySelector(".ladder__name"), `${info.name}${info.unit === " in" ? " (in)" : ""} · ${label}`);
    setText(li.querySelector(".ladder__close"), ladder.close_time ? `closes ${timeClose.format(when(ladder.close_time))}` : "");
    setAttr(li.querySelector(".ladder__cells"), "aria-label", `${ladder.event_ticker}: YES prices`);
    sync(li.querySelector(".ladder__cells"), ladder.markets, (m) => m.ticker, createMarket, (node, m) => updateMarket(node, m, ladder));
  }

  function createMarket() {
    const li = el("li", "mkt");
    const held = el("span", "mkt__held");
    held.hidden = true;
    li.append(el("span", "mkt__strike"), el("span", "mkt__price"), held);
    return li;
  }

  function updateMarket(li, market, ladder) {
    const strike = strikeLabel(market, ladder.kind, false);
    learnTerms(market, ladder.kind);
    const price = market.mark ?? market.yes_bid ?? market.yes_ask;
    setText(li.querySelector(".mkt__strike"), strike);
    setText(li.querySelector(".mkt__price"), cents(price));
    const p = price === null || price === undefined ? 0 : Math.max(0, Math.min(1, Number(price)));
    const shade = p.toFixed(2);
    if (li.style.getPropertyValue("--p") !== shade) li.style.setProperty("--p", shade);
    li.classList.toggle("is-closed", market.status !== "active");

    // Our position, as the public sees it: only fills at least the delay old.
    const position = market.position;
    const held = li.querySelector(".mkt__held");
    held.hidden = !position;
    li.classList.toggle("is-held", Boolean(position));
    li.classList.toggle("is-held-yes", Boolean(position) && position.side === "yes");
    li.classList.toggle("is-held-no", Boolean(position) && position.side === "no");
    if (position) setText(held, holding(position));
    const range = strikes.get(market.ticker) || strike;
    const quote = `bid ${cents(market.yes_bid)} · ask ${cents(market.yes_ask)} · mark ${cents(market.mark)}${market.status !== "active" ? ` (${market.status})` : ""}`;
    const ours = position
      ? `\nWe hold ${holding(position)} at ${cents(position.average_price)} on average, ${signedMoney(position.unrealized)} at the mark (fills at least ${delayMinutes} minutes old)`
      : "";
    setAttr(li, "title", `${market.ticker}\n${range}: ${quote}${ours}`);
    setAttr(li, "aria-label", `${range}: ${cents(price)}${position ? `, we hold ${holding(position)}` : ""}`);
  }

  function createResult() {
    const li = el("li", "result");
    li.append(el("span", "result__market"), el("span", "result__held"), el("span", "pill"), el("span", "result__pnl"));
    return li;
  }

  function updateResult(li, r) {
    learnTerms(r);
    const market = li.querySelector(".result__market");
    setText(market, describe(r.ticker, "bare"));
    setAttr(market, "title", `${r.ticker} (${strikes.get(r.ticker) || "terms not seen"}), settled ${timeFull.format(when(r.settled_at))}`);
    // What we held when it settled: the side the result is read against.
    const held = li.querySelector(".result__held");
    setText(held, r.position ? holding(r.position) : "flat");
    setAttr(held, "class", `result__held${r.position ? ` side--${r.position.side}` : ""}`);
    setAttr(held, "title", r.position
      ? `We held ${holding(r.position)} when it settled`
      : "We had closed our position before it settled");
    const pill = li.querySelector(".pill");
    setText(pill, r.result === "scalar" ? "SCALAR" : r.result.toUpperCase());
    setAttr(pill, "class", `pill pill--${r.result}`);
    setAttr(pill, "title", r.result === "scalar" ? "settled between yes and no" : `settled ${r.result.toUpperCase()}`);
    const pnl = li.querySelector(".result__pnl");
    setText(pnl, signedMoney(r.pnl));
    setTone(pnl, r.pnl);
  }

  function renderCities(answer) {
    sync($("cities"), answer.cities, (c) => c.code, createCity, updateCity);
  }

  // -- trades -----------------------------------------------------------------------------------

  const TRADE_CELLS = ["time", "city", "market", "side", "price", "count", "fee"];
  let cityNames = new Map();
  let tradesRendered = false;

  function createTrade() {
    const tr = el("tr");
    for (const name of TRADE_CELLS) {
      const cell = el(name === "time" ? "th" : "td", ["price", "count", "fee"].includes(name) ? "num" : "");
      if (name === "time") cell.scope = "row";
      cell.dataset.cell = name;
      tr.append(cell);
    }
    const market = tr.querySelector('[data-cell="market"]');
    market.append(el("span", "ticker"), el("span", "desc"));
    const time = el("time");
    tr.querySelector('[data-cell="time"]').append(time);
    return tr;
  }

  function updateTrade(tr, t) {
    const cell = (name) => tr.querySelector(`[data-cell="${name}"]`);
    const time = cell("time").firstElementChild;
    setAttr(time, "datetime", t.ts);
    setText(time, timeTrade.format(when(t.ts)));
    setAttr(time, "title", timeFull.format(when(t.ts)));
    setText(cell("city"), cityNames.get(t.city) || t.city);
    learnTerms(t);
    setText(cell("market").querySelector(".ticker"), t.ticker);
    setText(cell("market").querySelector(".desc"), describe(t.ticker));
    const side = cell("side");
    setText(side, `${t.action === "sell" ? "Sell" : "Buy"} ${t.side.toUpperCase()}`);
    setAttr(side, "class", `side side--${t.side}`);
    setText(cell("price"), cents(t.price));
    setText(cell("count"), contractCount(t.count));
    setText(cell("fee"), money(t.fee));
  }

  function renderTrades(answer, summary) {
    const body = $("trades-body");
    const empty = body.querySelector(".empty");
    if (answer.trades.length === 0) {
      if (!empty) {
        body.replaceChildren();
        const row = el("tr", "empty");
        const cell = el("td", "", `No trades published yet. Each trade appears here ${answer.delay_minutes} minutes after it was executed.`);
        cell.colSpan = TRADE_CELLS.length;
        row.append(cell);
        body.append(row);
      }
    } else {
      if (empty) empty.remove();
      const created = sync(body, answer.trades, (t) => t.id, createTrade, updateTrade);
      if (tradesRendered) {
        for (const row of created) {
          row.classList.add("is-new");
          row.addEventListener("animationend", () => row.classList.remove("is-new"), { once: true });
        }
      }
    }
    tradesRendered = true;
    const total = summary ? summary.trades : null;
    const shown = answer.trades.length;
    setText($("trades-foot"), total !== null && total > shown
      ? `Showing the latest ${integer.format(shown)} of ${integer.format(total)} published trades`
      : `${integer.format(shown)} published ${shown === 1 ? "trade" : "trades"}`);
  }

  // -- calibration and execution ---------------------------------------------------------------

  let lastCalibration = null;

  function renderCalibration(answer) {
    lastCalibration = answer;
    const select = $("calibration-city");
    const wanted = ["", ...answer.cities.map((c) => c.code)];
    const have = [...select.options].map((o) => o.value);
    if (wanted.join() !== have.join()) {
      const chosen = select.value;
      select.replaceChildren(new Option("All cities", ""), ...answer.cities.map((c) => new Option(c.name, c.code)));
      select.value = wanted.includes(chosen) ? chosen : "";
    }
    renderReliability();

    const rows = answer.cities;
    sync($("brier-body"), rows, (c) => c.code, createBrierRow, updateBrierRow);
    sync($("brier-foot"), [{ ...answer.overall, code: "ALL", name: "All cities" }], (c) => c.code, createBrierRow, updateBrierRow);
  }

  function renderReliability() {
    if (!lastCalibration) return;
    const code = $("calibration-city").value;
    const scope = code ? lastCalibration.cities.find((c) => c.code === code) : lastCalibration.overall;
    const buckets = scope ? scope.reliability.filter((b) => b.mean_forecast !== null) : [];
    const xs = [0, ...buckets.map((b) => b.mean_forecast), 1];
    // Strictly increasing x values, as uPlot wants them.
    for (let i = 1; i < xs.length; i++) if (xs[i] <= xs[i - 1]) xs[i] = xs[i - 1] + 1e-9;
    reliabilityCounts = [0, ...buckets.map((b) => b.count), 0];
    setChart("reliability", [xs, xs.slice(), [null, ...buckets.map((b) => b.observed_frequency), null]]);
    $("reliability-empty").hidden = buckets.length > 0;
    const name = code ? scope.name : "all cities";
    const scored = scope ? scope.scored_ladders : 0;
    setText($("reliability-title"), `Reliability diagram · ${scored ? `${integer.format(scored)} ladders, Brier ${brier(scope.brier)}` : "no ladders yet"}`);
    setAttr($("chart-reliability"), "aria-label", `Reliability diagram for ${name}: ${buckets.length} probability buckets`);
  }

  function createBrierRow() {
    const tr = el("tr");
    tr.append(el("th"), el("td", "num"), el("td", "num"), el("td", "num"), el("td", "num"));
    tr.firstElementChild.scope = "row";
    return tr;
  }

  function updateBrierRow(tr, c) {
    const [name, ladders, ours, clim, market] = tr.children;
    setText(name, c.name);
    setText(ladders, integer.format(c.scored_ladders));
    setText(ours, brier(c.brier));
    setText(clim, brier(c.climatology_brier));
    setText(market, brier(c.market_brier));
    const beats = (other) => c.brier !== null && other !== null && c.brier < other;
    ours.classList.toggle("better", beats(c.market_brier) && beats(c.climatology_brier));
    for (const cell of [ours, clim, market]) cell.classList.toggle("muted", c.scored_ladders === 0);
  }

  function renderExecution(answer) {
    const all = answer.all;
    setText($("kpi-fillrate"), ratio(all.fill_rate));
    setText($("kpi-fillrate-sub"), `${contractCount(all.contracts_filled)} of ${contractCount(all.contracts_ordered)} contracts · ${integer.format(all.orders)} orders`);
    setText($("kpi-slippage"), slippage(all.mean_slippage));
    setText($("kpi-ttf"), duration(all.mean_seconds_to_first_fill));
    sync($("execution-body"), answer.cities, (c) => c.code, createExecutionRow, updateExecutionRow);
  }

  function createExecutionRow() {
    const tr = el("tr");
    tr.append(el("th"), el("td", "num"), el("td", "num"), el("td", "num"), el("td", "num"), el("td", "num"));
    tr.firstElementChild.scope = "row";
    return tr;
  }

  function updateExecutionRow(tr, c) {
    const [name, orders, filled, rate, slip, ttf] = tr.children;
    setText(name, c.name);
    setText(orders, integer.format(c.orders));
    setText(filled, `${contractCount(c.contracts_filled)} / ${contractCount(c.contracts_ordered)}`);
    setText(rate, ratio(c.fill_rate));
    setText(slip, slippage(c.mean_slippage));
    setText(ttf, duration(c.mean_seconds_to_first_fill));
    for (const cell of [rate, slip, ttf]) cell.classList.toggle("muted", c.orders === 0);
  }

  // -- freshness --------------------------------------------------------------------------------

  let staleSince = null;

  function renderClock(answer) {
    const asOf = $("as-of");
    if (answer.as_of) {
      setAttr(asOf, "datetime", answer.as_of);
      setText(asOf, timeFull.format(when(answer.as_of)));
    } else {
      setText(asOf, "no data yet");
    }
    // An empty ledger says so once, at the top, rather than only through empty tables.
    $("empty-notice").hidden = Boolean(answer.as_of);
    delayMinutes = answer.delay_minutes;
    for (const node of [$("delay-minutes"), ...document.querySelectorAll(".js-delay")]) {
      setText(node, String(answer.delay_minutes));
    }
  }

  function renderStatus(failed) {
    const status = $("status");
    if (failed.length === 0) {
      staleSince = null;
      status.className = "freshness__status is-live";
      setText($("status-text"), "Live · refreshes every 5 s");
      return;
    }
    staleSince = staleSince || new Date();
    status.className = "freshness__status is-stale";
    setText($("status-text"), `Stale since ${timeShort.format(staleSince)} · retrying`);
  }

  // -- the refresh loop -------------------------------------------------------------------------

  const lastText = {};
  const latest = {};
  let firstRender = true;

  async function fetchText(url) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
    try {
      // "no-cache": answers may be cached for 5 s, and this page polls every 5 s.
      const response = await fetch(url, { cache: "no-cache", headers: { Accept: "application/json" }, signal: controller.signal });
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      return await response.text();
    } finally {
      clearTimeout(timer);
    }
  }

  const RENDER = {
    summary: (data) => renderSummary(data),
    cities: (data) => {
      delayMinutes = data.delay_minutes;
      cityNames = new Map(data.cities.map((c) => [c.code, c.name]));
      renderCities(data);
    },
    equity: (data) => renderEquity(data),
    calibration: (data) => renderCalibration(data),
    execution: (data) => renderExecution(data),
    trades: (data) => renderTrades(data, latest.summary),
  };
  // Cities first: the trades table names cities, and describes markets the board has seen.
  const ORDER = ["summary", "cities", "equity", "calibration", "execution", "trades"];

  async function refresh() {
    const names = Object.keys(API);
    const results = await Promise.allSettled(names.map((name) => fetchText(API[name])));
    const failed = [];
    const changed = new Set();
    results.forEach((result, i) => {
      const name = names[i];
      if (result.status === "rejected") {
        failed.push(name);
        return;
      }
      if (result.value === lastText[name]) return;
      try {
        latest[name] = JSON.parse(result.value);
        lastText[name] = result.value;
        changed.add(name);
      } catch (error) {
        failed.push(name);
      }
    });
    if (changed.has("summary") && !changed.has("trades") && latest.trades) changed.add("trades");  // its footer counts
    for (const name of ORDER) {
      if (!changed.has(name)) continue;
      try {
        RENDER[name](latest[name]);
      } catch (error) {
        failed.push(name);
        console.warn(`milkbot: could not show ${name}`, error);
      }
    }
    const newest = ORDER.map((n) => latest[n]).filter(Boolean).map((a) => a.as_of).filter(Boolean).sort().pop();
    if (newest || latest.summary) renderClock({ as_of: newest || null, delay_minutes: (latest.summary || latest.trades || {}).delay_minutes || 60 });
    renderStatus(failed);
    if (firstRender && failed.length === 0) {
      firstRender = false;
      performance.mark("milkbot:first-render");
      document.documentElement.dataset.state = "ready";
    }
  }

  // Every 5 s from the start of the last refresh, never two at once; paused while the tab is
  // hidden, and refreshed at once when it shows again.
  let timer = null;
  let inFlight = false;

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  }

  async function tick() {
    if (inFlight || document.hidden) return;
    inFlight = true;
    const started = performance.now();
    try {
      await refresh();
    } finally {
      inFlight = false;
      schedule(Math.max(250, REFRESH_MS - (performance.now() - started)));
    }
  }

  function start() {
    setText($("trades-zone"), `(${zoneName})`);
    tick();  // the requests first: the charts are built while they are on their way
    buildCharts();
    for (const name of Object.keys(charts)) resizer.observe($(`chart-${name}`));
    $("calibration-city").addEventListener("change", renderReliability);
    const scheme = window.matchMedia("(prefers-color-scheme: dark)");
    scheme.addEventListener("change", () => buildCharts());
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && !inFlight) schedule(0);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
