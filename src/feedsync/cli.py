"""argparse front door; logging setup, the clock and exit codes live only here.

Exit codes: 0 all good; 1 some files had errors (the rest were published); 2 bad usage or
configuration; 3 the output folder could not be written.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from feedsync import __version__, config, generate
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feedsync",
        description="Turn a folder of front-matter article files into RSS and Atom feeds,"
                    " one per topic and one per provider.",
        epilog="Example: feedsync generate --content seeds --output output",
    )
    parser.add_argument("--version", action="version", version=f"feedsync {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    gen = sub.add_parser(
        "generate", help="write every feed once and exit",
        description="Read the content folder and write RSS and Atom feeds into the output"
                    " folder. Files whose bytes would not change are left untouched.",
        epilog="Example: feedsync generate --config config/feedsync.yaml",
    )
    _common(gen)
    check = sub.add_parser(
        "check", help="validate the content folder; write nothing",
        description="Read and validate every article file and report problems, as a content"
                    " repository's CI step. Exit 1 when any file has errors.",
        epilog="Example: feedsync check --content seeds",
    )
    _common(check)
    return parser


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else logging.INFO if verbose == 1 else (
        logging.DEBUG if verbose > 1 else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


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
    return config.load(path, {"content_dir": args.content, "output_dir": args.output})


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    try:
        cfg = load_config(args)
        now = args.now or datetime.now(timezone.utc)
        report = generate.run(cfg, now, write=args.command == "generate", progress=_progress)
    except FeedsyncError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted; feeds already written are complete.", file=sys.stderr)
        return 130
    if not args.quiet:
        if args.command == "check":
            print(f"{report.files_read} files checked, {report.articles} articles valid,"
                  f" {report.published} visible now; {report.files_with_errors} files with errors")
        else:
            print(report.summary())
    return report.exit_code
