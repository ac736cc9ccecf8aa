"""argparse front door; logging setup, the clock and exit codes live only here.

Exit codes: 0 all good; 1 some files had errors (the rest were published); 2 bad usage or
configuration; 3 the output folder could not be written.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from feedsync import __version__, config, generate, instance, logs, status
from feedsync.errors import FeedsyncError

log = logging.getLogger("feedsync")
PROGRESS_THRESHOLD = 500  # files; below this a run is too quick for a bar to help


def _now(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time like 2024-05-10T14:00:00Z"
        )
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _options(parser: argparse.ArgumentParser, *names: str) -> None:
    """Only the options a subcommand uses, so its --help tells the truth."""
    if "config" in names:
        parser.add_argument(
            "--config",
            type=Path,
            metavar="PATH",
            help=f"settings file (default: {config.DEFAULT_CONFIG_PATH} if present)",
        )
    if "content" in names:
        parser.add_argument(
            "--content", type=Path, metavar="DIR", help="folder of article files (default: seeds)"
        )
    if "output" in names:
        parser.add_argument(
            "--output",
            type=Path,
            metavar="DIR",
            help="folder the feeds are written to (default: output)",
        )
    if "now" in names:
        parser.add_argument(
            "--now",
            type=_now,
            metavar="TIME",
            help="decide what is published as of this time instead of the"
            " clock (reproducible builds)",
        )
    if "verbosity" in names:
        loud = parser.add_mutually_exclusive_group()
        loud.add_argument(
            "-v",
            "--verbose",
            action="count",
            default=0,
            help="also list every file written and removed (-vv: debug)",
        )
        loud.add_argument(
            "-q", "--quiet", action="store_true", help="print only errors, no summary"
        )
        parser.add_argument(
            "--log-format",
            choices=config.LOG_FORMATS,
            default=None,
            help="log lines as text (the default) or one JSON object per line",
        )
    if "cache" in names:
        parser.add_argument(
            "--no-cache",
            action="store_true",
            help="read every file and render every feed, ignoring the cache",
        )
        parser.add_argument(
            "--cache",
            type=Path,
            metavar="FILE",
            help="where to keep the cache (default: ~/.cache/feedsync/)",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feedsync",
        description="Turn a folder of front-matter article files into RSS, Atom and JSON feeds,"
        " one per topic and one per provider.",
        epilog="Example: feedsync generate --content seeds --output output",
    )
    parser.add_argument("--version", action="version", version=f"feedsync {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    gen = sub.add_parser(
        "generate",
        help="write every feed once and exit",
        description="Read the content folder and write RSS, Atom and JSON feeds into the output"
        " folder. Files whose bytes would not change are left untouched. Refused"
        " (exit 2) while a daemon writes the same output folder.",
        epilog="Example: feedsync generate --config config/feedsync.yaml",
    )
    _options(gen, "config", "content", "output", "now", "verbosity", "cache")
    check = sub.add_parser(
        "check",
        help="validate the content folder; write nothing",
        description="Read and validate every article file and report problems, as a content"
        " repository's CI step. Exit 1 when any file has errors.",
        epilog="Example: feedsync check --content seeds",
    )
    _options(check, "config", "content", "now", "verbosity")
    daemon = sub.add_parser(
        "run",
        help="generate, then keep the feeds in step with the content folder",
        description="Run in the foreground until SIGTERM or SIGINT: one full generation, then"
        " watch the content folder and regenerate only what changed; publish"
        " future-dated articles at their time. SIGHUP reloads the configuration."
        " One daemon per output folder: a second one exits 2.",
        epilog="Example: feedsync run --config config/feedsync.yaml",
    )
    _options(daemon, "config", "content", "output", "now", "verbosity", "cache")
    daemon.add_argument(
        "--once",
        action="store_true",
        help="generate once and exit (the same as 'feedsync generate')",
    )
    daemon.add_argument(
        "--pid-file", type=Path, metavar="PATH", help="write the process id here while running"
    )
    daemon.add_argument(
        "--serve",
        metavar="HOST:PORT",
        help="also serve the output folder over HTTP (as 'feedsync serve')",
    )
    serve = sub.add_parser(
        "serve",
        help="serve the output folder over HTTP for feed readers",
        description="Serve the output folder read-only: feeds with their media types, ETag and"
        " Last-Modified (304 answers), gzip. Binds to 127.0.0.1 unless told otherwise.",
        epilog="Example: feedsync serve --output output --bind 127.0.0.1:8080",
    )
    _options(serve, "config", "output", "verbosity")
    serve.add_argument(
        "--bind",
        metavar="HOST:PORT",
        help="address to listen on (default: the 'serve' setting, else 127.0.0.1:8080)",
    )
    stat = sub.add_parser(
        "status",
        help="show whether the daemon runs, what it last did and what is wrong",
        description="Find the daemon that writes the output folder and print whether it runs,"
        " its last run, every degraded state and the files in error. Exit 0 when"
        " it runs with no problems, 1 when it runs degraded, 3 when it does not"
        " run. Works with a broken --config file too.",
        epilog="Example: feedsync status --config config/feedsync.yaml",
    )
    _options(stat, "config", "output")
    stat.add_argument("--json", action="store_true", help="print the status as one JSON object")
    return parser


def _setup_logging(args: argparse.Namespace, cfg: config.Config | None) -> None:
    verbose, quiet = getattr(args, "verbose", 0), getattr(args, "quiet", False)
    service = args.command == "run" and not getattr(args, "once", False)
    if quiet:
        level = logging.ERROR
    elif verbose > 1:
        level = logging.DEBUG
    elif verbose == 1 or service:
        level = logging.INFO  # a service's log says what it did, one summary line a run
    else:
        level = logging.WARNING
    files = level if (verbose or not service) else logging.WARNING
    fmt = getattr(args, "log_format", None) or (cfg.log_format if cfg is not None else "text")
    logs.setup(level, fmt=fmt, service=service, files_level=files)


def _progress(paths: Sequence[Any]) -> Iterable[Any]:
    """A progress bar only when a person watches a long run."""
    if len(paths) < PROGRESS_THRESHOLD or not sys.stderr.isatty():
        return paths
    from tqdm import tqdm

    return tqdm(paths, desc="reading", unit="file", leave=False, file=sys.stderr)


def load_config(args: argparse.Namespace) -> config.Config:
    path = _config_path(args)
    return config.load(path, _overrides(args))


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    return {
        "content_dir": getattr(args, "content", None),
        "output_dir": getattr(args, "output", None),
        "cache": False if getattr(args, "no_cache", False) else None,
        "cache_file": getattr(args, "cache", None),
        "log_format": getattr(args, "log_format", None),
    }


def _config_path(args: argparse.Namespace) -> Path | None:
    if args.config is None and config.DEFAULT_CONFIG_PATH.is_file():
        return config.DEFAULT_CONFIG_PATH
    return args.config


def _status(args: argparse.Namespace) -> int:
    """`feedsync status`: judged from the lock, reported from the status file; it never waits
    on the daemon. A configuration that no longer loads is read for what it still says."""
    broken = None
    try:
        cfg = load_config(args)
    except FeedsyncError as exc:
        broken = str(exc)
        cfg = config.salvage(_config_path(args), _overrides(args))
    data = status.read(cfg.status_path)
    verdict = status.judge(data, cfg.output_dir, broken)
    if args.json:
        print(status.as_json(data, verdict, cfg.status_path))
    else:
        print(status.describe(data, verdict, cfg.status_path, cfg.output_dir))
    return verdict.code


def _bind(text: str | None, cfg: config.Config) -> tuple[str, int] | None:
    chosen = text or cfg.serve
    if chosen is None:
        return None
    bind = config.parse_bind(chosen)
    if bind is None:
        raise FeedsyncError(f"{chosen!r} is not HOST:PORT (for example 127.0.0.1:8080)")
    return bind


def _serve(args: argparse.Namespace, cfg: config.Config) -> int:
    """`feedsync serve`: run the HTTP server until SIGTERM or SIGINT."""
    import threading

    from feedsync.server import Server

    host, port = _bind(args.bind, cfg) or ("127.0.0.1", 8080)
    if not cfg.output_dir.is_dir():
        raise FeedsyncError(
            f"output folder {cfg.output_dir} does not exist: run 'feedsync"
            " generate' first, or pass --output DIR"
        )
    server = Server(cfg.output_dir, host, port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    print(f"Serving {cfg.output_dir} at {server.url} (Ctrl-C stops)", file=sys.stderr)
    try:
        stop.wait()
    finally:
        server.stop()
    return 0


def _daemon(args: argparse.Namespace, cfg: config.Config) -> int:
    from feedsync.daemon import Daemon

    clock = (lambda: args.now) if args.now else (lambda: datetime.now(timezone.utc))
    runner = Daemon(
        cfg,
        reload=lambda: load_config(args),
        clock=clock,
        serve=_bind(args.serve, cfg),
        config_file=_config_path(args),
        pid_file=args.pid_file,
    )
    runner.install_signal_handlers()
    return runner.run()


def _notify_hub(cfg: config.Config, written: Sequence[str]) -> None:
    """One-shot runs tell the hub too, waiting a little; a failure never changes the exit code."""
    from feedsync import websub

    publisher = websub.Publisher(cfg.websub_hub or "", attempts=3)
    try:
        publisher.notify(websub.feed_urls(cfg.base_url, written))
        if not publisher.drain(15):
            log.warning("WebSub hub %s did not take every notification in time", cfg.websub_hub)
    finally:
        publisher.stop()


GENERATE_WAIT_SECONDS = 10.0  # how long a `generate` waits for another `generate`


def _daemon_holds(cfg: config.Config) -> Callable[[int | None], bool]:
    """Whether the lock's holder is a daemon (which never lets go): then do not wait."""

    def check(pid: int | None) -> bool:
        data = status.read(cfg.status_path) or {}
        return pid is not None and data.get("pid") == pid and data.get("state") == "running"

    return check


def _one_shot(args: argparse.Namespace, cfg: config.Config) -> int:
    now = args.now or datetime.now(timezone.utc)
    writing = args.command != "check"
    lock = (
        instance.acquire(cfg.output_dir, wait=GENERATE_WAIT_SECONDS, give_way=_daemon_holds(cfg))
        if writing
        else None
    )
    try:
        state = generate.State.open(cfg) if writing else generate.State()
        try:
            report = generate.run(
                cfg, now, state=state, write=writing, progress=_progress, parallel=True
            )
        finally:
            state.close()
    finally:
        if lock is not None:
            lock.release()
    if cfg.websub_hub and report.written and writing:
        _notify_hub(cfg, report.written)
    if not args.quiet:
        if args.command == "check":
            print(
                f"{report.files_read} files checked, {report.articles} articles valid,"
                f" {report.published} visible now; {report.files_with_errors} files with errors"
            )
        else:
            print(report.summary())
    return report.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("status", "check", "generate") or getattr(args, "once", False):
        # Like other Unix tools: `feedsync status | head -1` ends quietly. Not for the daemon
        # and the server, whose sockets must see EPIPE as an error, not die of it.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    cfg = None
    try:
        if args.command == "status":
            _setup_logging(args, None)
            return _status(args)
        try:
            cfg = load_config(args)
        finally:
            _setup_logging(args, cfg)
        if args.command == "serve":
            return _serve(args, cfg)
        if args.command == "run" and not args.once:
            return _daemon(args, cfg)
        return _one_shot(args, cfg)
    except FeedsyncError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted; feeds already written are complete.", file=sys.stderr)
        return 130
