"""The ``milkbot`` command. Errors a user can cause end in one clear line and a non-zero exit."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from adapters.kalshi.errors import KalshiError
from eventstore.errors import EventStoreError
from milkbot import audit
from milkbot.audit import EXIT_ERROR, EXIT_MISMATCH, chain_head, day_or_time, decision_id
from milkbot.bootstrap import Milkbot, bootstrap
from milkbot.settings import SettingsError, load_config, load_settings
from projections.registry import projection_factories
from projections.runner import ProjectionConflict


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="milkbot",
                                     description="Milkbot: a trader for Kalshi weather markets")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run everything locally on an accelerated clock")
    demo.add_argument("--speed", type=float, default=1440.0,
                      help="simulated seconds per real second (default 1440: a day a minute)")
    demo.add_argument("--mode", choices=("paper", "demo"), default="paper",
                      help="paper: fills from the paper model on the simulator's books (default); "
                           "demo: orders sent to the exchange simulator, as to Kalshi's demo")
    demo.add_argument("--public-port", type=int, default=8000,
                      help="the dashboard's port (default 8000; 0: any free port)")
    demo.add_argument("--operator-port", type=int, default=8001,
                      help="the operator app's port (default 8001; 0: any free port)")
    demo.add_argument("--days", type=float, default=None,
                      help="stop after this many simulated days (default: until Ctrl-C)")

    status = commands.add_parser("status", help="positions, P&L and projection freshness")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    sim = commands.add_parser("sim", help="run a local wire-compatible simulator")
    sim_commands = sim.add_subparsers(dest="sim_command", required=True, metavar="SIMULATOR")
    sim_nws = sim_commands.add_parser("nws", help="the api.weather.gov simulator")
    sim_exchange = sim_commands.add_parser("exchange", help="the Kalshi Trade API simulator")
    sim_exchange.add_argument("--public-key", type=Path, default=None,
                              help="PEM public key that signs requests (default: generate a pair "
                                   "and print where the private key went)")
    for simulator, port in ((sim_nws, 8020), (sim_exchange, 8010)):
        simulator.add_argument("--host", default="127.0.0.1")
        simulator.add_argument("--port", type=int, default=port)
        simulator.add_argument("--state", type=Path, default=None,
                               help="folder keeping the simulator's state across restarts")
        simulator.add_argument("--seed", type=int, default=0)
        simulator.add_argument("--speed", type=float, default=1.0,
                               help="simulated seconds per real second (default 1)")
        simulator.add_argument("--start", type=datetime.fromisoformat, default=None,
                               help="simulated start time, ISO 8601 with offset (default: now)")

    nws = commands.add_parser("nws", help="National Weather Service tools")
    nws_commands = nws.add_subparsers(dest="nws_command", required=True, metavar="SUBCOMMAND")
    parse_cli = nws_commands.add_parser(
        "parse-cli", help="parse an NWS CLI climate report and print one JSON object per station")
    parse_cli.add_argument("file", type=Path)

    run = commands.add_parser("run", help="the command handler against the configured endpoints")
    run.add_argument("--mode", choices=("paper", "demo", "live"), required=True)
    run.add_argument("--confirm-live", action="store_true",
                     help="confirm live trading (also needs [trading] live_confirmed and 10 days "
                          "of paper or demo trading)")
    serve = commands.add_parser("serve", help="the public app (read-only, delayed) and the operator "
                                              "app (token-protected), on separate ports")
    serve.add_argument("--public-port", type=int, default=8000)
    serve.add_argument("--operator-port", type=int, default=8001)
    serve.add_argument("--host", default="127.0.0.1", help="the public app's address")
    serve.add_argument("--operator-host", default="127.0.0.1",
                       help="the operator app's address (default loopback only)")
    serve.add_argument("--metrics-file", type=Path, default=None,
                       help="the command handler's Prometheus metrics, served at /metrics "
                            "(default: MILKBOT_METRICS_FILE)")
    serve.add_argument("--workers", type=int, default=1,
                       help="processes serving the public app, sharing its port (default 1: a "
                            "thread of this process); each opens its own read-only connections")
    kill = commands.add_parser("kill", help="halt all trading now (recorded with who and why)")
    kill.add_argument("--reason", required=True, help="why, in plain words (recorded)")
    kill.add_argument("--operator", help="who (default: the login name)")
    resume = commands.add_parser("resume", help="lift a kill switch or a city's halt")
    resume.add_argument("--reason", default="operator resumed trading", help="why (recorded)")
    resume.add_argument("--operator", help="who (default: the login name)")
    resume.add_argument("--city", help="lift only this city's halt (e.g. after reconciliation)")
    replay = commands.add_parser("replay", help="audit the ledger")
    replay_commands = replay.add_subparsers(dest="replay_command", required=True,
                                            metavar="SUBCOMMAND")
    verify = replay_commands.add_parser(
        "verify", help="every record, the hash chain, and every decision replayed from its inputs")
    verify.add_argument("--since", type=day_or_time, help="replay only decisions from this date or time")
    verify.add_argument("--head", type=chain_head, action="append", default=[],
                        metavar="POSITION:HASH",
                        help="a head published before (the public summary's ledger.position and "
                             "ledger.hash): the chain must still give that hash there; repeatable")
    decision = replay_commands.add_parser(
        "decision", help="re-derive one decision from its recorded inputs; exit 1 on a mismatch")
    decision.add_argument("id", type=decision_id, help="the decision id")
    rebuild = replay_commands.add_parser(
        "rebuild", help="rebuild projections from event 1 and compare with the live ones")
    rebuild.add_argument("name", nargs="?", choices=sorted(projection_factories()),
                         help="one projection (default: all)")
    export = replay_commands.add_parser(
        "export", help="write a slice of the ledger (JSON lines) that replays on its own")
    export.add_argument("file", type=Path)
    export.add_argument("--since", type=day_or_time)
    export.add_argument("--until", type=day_or_time)
    import_ = replay_commands.add_parser("import", help="append an exported slice to this ledger")
    import_.add_argument("file", type=Path)
    import_.add_argument("--head", type=chain_head, action="append", default=[],
                         metavar="POSITION:HASH",
                         help="a head published before: a whole-ledger export's own chain must "
                              "give that hash there, or nothing is imported; repeatable")
    explain = commands.add_parser("explain", help="one decision in plain words")
    explain.add_argument("id", type=decision_id, help="the decision id")
    backtest = commands.add_parser(
        "backtest", help="the strategies and risk over recorded snapshots, beside the recorded run")
    backtest.add_argument("--from", dest="from_", type=day_or_time, required=True,
                          help="first day (YYYY-MM-DD) or time (ISO)")
    backtest.add_argument("--to", dest="to_text", required=True,
                          help="last day (included) or an ISO end time (excluded)")
    backtest.add_argument("--cities", help="comma-separated city codes (default: all enabled)")
    backtest.add_argument("--strategy", help="one configured strategy (default: all)")
    backtest.add_argument("--source", help="the recorded run: a ledger URL or an exported slice "
                                           "(.jsonl) (default: MILKBOT_DATABASE_URL's ledger)")
    backtest.add_argument("--json", type=Path, help="write the report as JSON here")
    backtest.add_argument("--csv", type=Path, help="write the per-trade diff as CSV here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        if args.command == "nws" and args.nws_command == "parse-cli":
            return _parse_cli(args.file, console)
        settings = load_settings()
        if args.command == "sim":
            from milkbot.simulators import serve_exchange, serve_nws

            config, _ = load_config(settings)
            common = {"host": args.host, "port": args.port, "seed": args.seed, "start": args.start,
                      "speed": args.speed, "state_dir": args.state,
                      "print_line": lambda line: console.print(line, soft_wrap=True,
                                                               highlight=False)}
            if args.sim_command == "exchange":
                return serve_exchange(config, public_key_file=args.public_key, **common)
            return serve_nws(config, **common)
        if args.command == "run":
            from milkbot.run import run_handler

            return run_handler(settings, mode=args.mode, confirm_live=args.confirm_live,
                               console=console)
        if args.command == "serve":
            from api.serve import run_serve

            return run_serve(settings, public_port=args.public_port,
                             operator_port=args.operator_port, host=args.host,
                             operator_host=args.operator_host, metrics_file=args.metrics_file,
                             console=console, workers=args.workers)
        if args.command == "demo":
            from milkbot.demo import run_demo

            return run_demo(settings, speed=args.speed, days=args.days, console=console,
                            mode=args.mode, public_port=args.public_port,
                            operator_port=args.operator_port)
        with bootstrap(settings) as app:
            if args.command == "status":
                return _status(app, as_json=args.json)
            if args.command in ("kill", "resume"):
                return _operator(app, args, console)
            return _audit(app, args, console)
    except (SettingsError, EventStoreError, ProjectionConflict, KalshiError) as e:
        console.print(f"[bold red]milkbot: {e}[/]", highlight=False, soft_wrap=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    raise AssertionError(f"unhandled command {args.command}")


def _parse_cli(path: Path, console: Console) -> int:
    from adapters.nws.cli_report import parse_cli_file, report_json
    from adapters.nws.errors import NwsError

    try:
        reports = parse_cli_file(path)
    except OSError as e:
        console.print(f"[bold red]milkbot: cannot read {path}: {e.strerror}[/]", highlight=False)
        return EXIT_ERROR
    except NwsError as e:
        console.print(f"[bold red]milkbot: {path}: {e}[/]", highlight=False, soft_wrap=True)
        return EXIT_MISMATCH
    for report in reports:
        sys.stdout.write(orjson.dumps(report_json(report)).decode() + "\n")
    return 0


def _status(app: Milkbot, *, as_json: bool) -> int:
    from milkbot.status import read_status

    status = read_status(app)
    if as_json:
        sys.stdout.write(orjson.dumps(status, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    out = Console()
    out.print(f"ledger {status['ledger']}: {status['events']} events, "
              f"clock {status['ledger_clock'] or '-'}")
    trading = status["trading"]
    out.print(f"trading: {trading['state']}", highlight=False)
    for city, held in trading["cities"].items():
        out.print(f"  {city}: {held['state']} ({held['why']})", highlight=False)
    for name, info in status["projections"].items():
        out.print(f"  projection {name}: position {info['position']} ({info['behind']} behind)")
    table = Table("ticker", "city", "position", "realized $", "unrealized $", "fees $")
    for p in status["positions"]:
        table.add_row(p["ticker"], p["city"], str(p["position"]), p["realized"],
                      p["unrealized"], p["fees"])
    out.print(table)
    for scope, pnl in status["pnl"].items():
        out.print(f"  {scope}: realized {pnl['realized']} unrealized {pnl['unrealized']} "
                  f"fees {pnl['fees']}")
    return 0


def _operator(app: Milkbot, args: argparse.Namespace, console: Console) -> int:
    from domain.risk.errors import NotHalted
    from milkbot.operator import engage_kill_switch, operator_name, resume_trading

    who = operator_name(args.operator)
    if args.command == "kill":
        engage_kill_switch(app.ledger.store, operator=who, reason=args.reason)
        Console().print(f"kill switch engaged by {who}: {args.reason}. All trading is halted; the "
                        "command handler cancels resting orders within one cycle.", highlight=False)
        return 0
    scope = f"city:{args.city}" if args.city else "all"
    try:
        resume_trading(app.ledger.store, operator=who, reason=args.reason, scope=scope)
    except NotHalted as e:
        console.print(f"[bold red]milkbot: {e}[/]", highlight=False, soft_wrap=True)
        return EXIT_ERROR
    Console().print(f"{scope} resumed by {who}: {args.reason}", highlight=False)
    return 0


def _audit(app: Milkbot, args: argparse.Namespace, err: Console) -> int:
    out = Console()
    if args.command == "explain":
        return audit.explain(app, args.id, out, err)
    if args.command == "backtest":
        return audit.backtest(app, args, out, err)
    command = args.replay_command
    if command == "verify":
        return audit.verify(app, out, err, since=args.since, heads=args.head)
    if command == "decision":
        return audit.replay_decision(app, args.id, out, err)
    if command == "rebuild":
        return audit.rebuild(app, args.name, out, err)
    if command == "export":
        return audit.export(app, args.file, out, since=args.since, until=args.until)
    return audit.import_(app, args.file, out, err, heads=args.head)


if __name__ == "__main__":
    raise SystemExit(main())
