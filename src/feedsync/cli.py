"""argparse front door; logging setup, the clock and exit codes live only here.

Exit codes: 0 all good; 1 some files had errors (the rest were published); 2 bad usage or
configuration; 3 the output folder could not be written.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from feedsync import __version__, config, generate, status
from feedsync.errors import FeedsyncError

log = logging.getLogger("feedsync")
PROGRESS_THRESHOLD = 500  # files; below this a run is too quick for a bar to help


def _now(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time like 2024-05-10T14:00:00Z")
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="PATH",
                        help=f"settings file (default: {config.DEFAULT_CONFIG_PATH} if present)")
    parser.add_argument("--content", type=Path, metavar="DIR",
                        help="folder of article files (default: seeds)")
    parser.add_argument("--output", type=Path, metavar="DIR",
                        help="folder the feeds are written to (default: output)")
    parser.add_argument("--now", type=_now, metavar="TIME",
                        help="decide what is published as of this time instead of the clock"
                             " (reproducible builds)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="also list every file written and removed")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only errors, no summary")


def _cache_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-cache", action="store_true",
                        help="read every file and render every feed, ignoring the cache")
    parser.add_argument("--cache", type=Path, metavar="FILE",
                        help="where to keep the cache (default: ~/.cache/feedsync/)")


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
        "generate", help="write every feed once and exit",
        description="Read the content folder and write RSS, Atom and JSON feeds into the output"
                    " folder. Files whose bytes would not change are left untouched.",
        epilog="Example: feedsync generate --config config/feedsync.yaml",
    )
    _common(gen)
    _cache_options(gen)
    check = sub.add_parser(
        "check", help="validate the content folder; write nothing",
        description="Read and validate every article file and report problems, as a content"
                    " repository's CI step. Exit 1 when any file has errors.",
        epilog="Example: feedsync check --content seeds",
    )
    _common(check)
    daemon = sub.add_parser(
        "run", help="generate, then keep the feeds in step with the content folder",
        description="Run in the foreground until SIGTERM or SIGINT: one full generation, then"
                    " watch the content folder and regenerate only what changed; publish"
                    " future-dated articles at their time. SIGHUP reloads the configuration.",
        epilog="Example: feedsync run --config config/feedsync.yaml",
    )
    _common(daemon)
    _cache_options(daemon)
    daemon.add_argument("--once", action="store_true",
                        help="generate once and exit (the same as 'feedsync generate')")
    daemon.add_argument("--pid-file", type=Path, metavar="PATH",
                        help="write the process id here while running")
    daemon.add_argument("--serve", metavar="HOST:PORT",
                        help="also serve the output folder over HTTP (as 'feedsync serve')")
    serve = sub.add_parser(
        "serve", help="serve the output folder over HTTP for feed readers",
        description="Serve the output folder read-only: feeds with their media types, ETag and"
                    " Last-Modified (304 answers), gzip. Binds to 127.0.0.1 unless told otherwise.",
        epilog="Example: feedsync serve --output output --bind 127.0.0.1:8080",
    )
    _common(serve)
    serve.add_argument("--bind", metavar="HOST:PORT",
                       help="address to listen on (default: the 'serve' setting, else"
                            " 127.0.0.1:8080)")
    stat = sub.add_parser(
        "status", help="show what the running daemon last did",
        description="Read the daemon's status file and print whether it is running, its last"
                    " run and the files in error. Exit 0 when it runs with no problems.",
        epilog="Example: feedsync status --config config/feedsync.yaml",
    )
    _common(stat)
    return parser


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else logging.INFO if verbose == 1 else (
        logging.DEBUG if verbose > 1 else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler logs every job it adds at INFO; only its warnings matter to an operator.
    logging.getLogger("apscheduler").setLevel(max(level, logging.WARNING))
    # aiohttp logs every malformed request a client sends as an ERROR with a traceback: any
    # client could flood the log. Bad requests already get their 400.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)


def _progress(paths: Sequence[Path]):  # type: ignore[no-untyped-def]
    """A progress bar only when a person watches a long run."""
    if len(paths) < PROGRESS_THRESHOLD or not sys.stderr.isatty():
        return paths
    from tqdm import tqdm

    return tqdm(paths, desc="reading", unit="file", leave=False, file=sys.stderr)


def load_config(args: argparse.Namespace) -> config.Config:
    path = args.config
    if path is None and config.DEFAULT_CONFIG_PATH.is_file():
        path = config.DEFAULT_CONFIG_PATH
    return config.load(path, {
        "content_dir": args.content, "output_dir": args.output,
        "cache": False if getattr(args, "no_cache", False) else None,
        "cache_file": getattr(args, "cache", None),
    })


def _status(cfg: config.Config) -> int:
    data = status.read(cfg.status_path)
    if data is None:
        print(f"feedsync is not running here: no status in {cfg.status_path}"
              " (start it with 'feedsync run')")
        return 1
    text, code = status.describe(data)
    print(text)
    return code


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
    import signal
    import threading

    from feedsync.server import Server

    host, port = _bind(args.bind, cfg) or ("127.0.0.1", 8080)
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
    runner = Daemon(cfg, reload=lambda: load_config(args), clock=clock,
                    serve=_bind(args.serve, cfg))
    runner.install_signal_handlers()
    if args.pid_file:
        args.pid_file.write_text(f"{os.getpid()}\n")
    try:
        return runner.run()
    finally:
        if args.pid_file:
            args.pid_file.unlink(missing_ok=True)


def _notify_hub(cfg: config.Config, written: Sequence[str]) -> None:
    """One-shot runs tell the hub too, waiting a little; a failure never changes the exit code."""
    from feedsync import render, websub

    publisher = websub.Publisher(cfg.websub_hub or "", attempts=3)
    try:
        publisher.notify(websub.feed_urls(cfg.base_url, written, render.EXTENSIONS.values()))
        if not publisher.drain(15):
            log.warning("WebSub hub %s did not take every notification in time",
                        cfg.websub_hub)
    finally:
        publisher.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run" and not args.verbose and not args.quiet:
        args.verbose = 1  # a service's log should say what it did
    _setup_logging(args.verbose, args.quiet)
    try:
        cfg = load_config(args)
        if args.command == "status":
            return _status(cfg)
        if args.command == "serve":
            return _serve(args, cfg)
        if args.command == "run" and not args.once:
            return _daemon(args, cfg)
        now = args.now or datetime.now(timezone.utc)
        writing = args.command != "check"
        state = generate.State.open(cfg) if writing else generate.State()
        try:
            report = generate.run(cfg, now, state=state, write=writing, progress=_progress,
                                  parallel=True)
        finally:
            state.close()
    except FeedsyncError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted; feeds already written are complete.", file=sys.stderr)
        return 130
    if cfg.websub_hub and report.written and args.command != "check":
        _notify_hub(cfg, report.written)
    if not args.quiet:
        if args.command == "check":
            print(f"{report.files_read} files checked, {report.articles} articles valid,"
                  f" {report.published} visible now; {report.files_with_errors} files with errors")
        else:
            print(report.summary())
    return report.exit_code
