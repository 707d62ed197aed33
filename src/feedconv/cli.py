"""The command line: options, I/O, progress and errors. No conversion logic lives here."""

from __future__ import annotations

import enum
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from feedconv import __version__
from feedconv.errors import FeedconvError, InputError, OutputError

T = TypeVar("T")


class ExitCode(enum.IntEnum):
    OK = 0
    INPUT_ERROR = 1
    USAGE = 2
    OUTPUT_REFUSED = 3
    INTERRUPTED = 130


class _StderrHandler(logging.Handler):
    """Warnings as one line each on the *current* stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = "warning" if record.levelno >= logging.WARNING else "info"
            if record.levelno >= logging.ERROR:
                level = "error"
            message = " ".join(record.getMessage().split())
            click.echo(f"feedconv: {level}: {message}", err=True)
        except Exception:  # pragma: no cover - logging must never crash the run
            self.handleError(record)


def _setup_logging(verbosity: int) -> None:
    logger = logging.getLogger("feedconv")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.addHandler(_StderrHandler())
    logger.propagate = False
    logger.setLevel({-1: logging.ERROR, 0: logging.WARNING}.get(verbosity, logging.INFO))


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _progress(items: Iterable[T], total: int, label: str) -> Iterator[T]:
    """Iterate with a transient rich progress bar on stderr, only on a terminal."""
    ctx = click.get_current_context(silent=True)
    quiet = bool(ctx and ctx.find_root().obj and ctx.find_root().obj.get("quiet"))
    if quiet or total < 2 or not _stderr_is_terminal():
        yield from items
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(file=sys.stderr)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as progress:
        task = progress.add_task(label, total=total)
        for item in items:
            yield item
            progress.advance(task)


def _load(feed: str) -> Any:
    from feedconv.readers import read_feed
    from feedconv.sources import load

    source = load(feed)
    try:
        return read_feed(source.data, source.url, http_charset=source.charset)
    except InputError as exc:
        raise InputError(f"{source.name}: {exc}") from None


@contextmanager
def _stdout_text() -> Iterator[IO[str]]:
    stream = sys.stdout
    yield stream
    stream.flush()


def _write_text_output(output: str | None, chunks: Iterable[str], force: bool) -> None:
    """Write text to stdout (streamed) or to a file (atomically, all or nothing)."""
    if output in (None, "-"):
        with _stdout_text() as stream:
            for chunk in chunks:
                stream.write(chunk)
        return
    from feedconv.writers._files import atomic_write, check_writable

    path = Path(output)  # type: ignore[arg-type]
    check_writable(path, force=force)
    atomic_write(path, "".join(chunks).encode("utf-8"), force=force)


def _source_date_epoch() -> datetime | None:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if not value:
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise click.BadParameter(
            f"SOURCE_DATE_EPOCH must be a number of seconds, not {value!r}"
        ) from None


class FeedconvGroup(click.Group):
    """A click group whose ``main`` maps every outcome to :class:`ExitCode` and exits."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[no-untyped-def, override]
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        sys.exit(int(run(list(args) if args is not None else None, **extra)))


FEED_ARG = click.argument("feed", metavar="FEED")
FORCE_OPT = click.option("--force", is_flag=True, help="Overwrite existing output files.")


@click.group(cls=FeedconvGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="feedconv")
@click.option("-q", "--quiet", is_flag=True, help="Only print errors on stderr.")
@click.option("-v", "--verbose", is_flag=True, help="Print more detail on stderr.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, verbose: bool) -> None:
    """Convert web feeds (RSS, Atom, JSON Feed) to Markdown, EPUB or JSON Feed.

    FEED is a file path, - for standard input, or an http(s) URL. The format is
    detected from the content. Data goes to stdout, messages to stderr.

    \b
    Examples:
      feedconv to-epub examples/openstack.xml -o openstack.epub
      feedconv to-md https://example.com/feed.xml --split posts/
      feedconv to-json feed.xml | jq '.items[].title'
    """
    ctx.obj = {"quiet": quiet}
    _setup_logging(-1 if quiet else (1 if verbose else 0))


@cli.command("to-json")
@FEED_ARG
@click.option(
    "-o", "--output", metavar="FILE", help="Write to FILE instead of stdout (- for stdout)."
)
@click.option("--lines", is_flag=True, help="One JSON item per line (JSON Lines) instead.")
@FORCE_OPT
def to_json(feed: str, output: str | None, lines: bool, force: bool) -> None:
    """Print the feed as JSON Feed 1.1, items in document order.

    \b
    Examples:
      feedconv to-json examples/openstack.xml
      feedconv to-json feed.xml --lines | grep -i python
      feedconv to-json feed.xml | jq '.items |= .[:3]' | feedconv to-epub - -o top3.epub
    """
    from feedconv.writers import jsonfeed

    parsed = _load(feed)
    chunks = jsonfeed.dump_lines(parsed.entries) if lines else iter([jsonfeed.dump_feed(parsed)])
    _write_text_output(output, chunks, force)


@cli.command("to-md")
@FEED_ARG
@click.option(
    "-o", "--output", metavar="FILE", help="Write one document to FILE instead of stdout."
)
@click.option(
    "--split",
    "split_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one file per post into DIR (YYYY-MM-DD-slug.md with YAML front matter).",
)
@FORCE_OPT
def to_md(feed: str, output: str | None, split_dir: Path | None, force: bool) -> None:
    """Convert the feed to Markdown: one document, or one file per post.

    \b
    Examples:
      feedconv to-md examples/openstack.xml > openstack.md
      feedconv to-md examples/openstack.xml --split posts/
    """
    from feedconv.writers import markdown

    if output and split_dir:
        raise click.UsageError("use either --output or --split, not both")
    parsed = _load(feed)
    if split_dir is None:
        chunks = markdown.render_document(
            parsed, _progress(parsed.entries, len(parsed.entries), "Converting")
        )
        _write_text_output(output, chunks, force)
        return
    from feedconv.writers._files import atomic_write, check_writable, safe_join

    names = markdown.post_filenames(parsed.entries)
    targets = [safe_join(split_dir, name) for name in names]
    for target in targets:  # refuse before writing anything
        check_writable(target, force=force)
    pairs = list(zip(parsed.entries, targets, strict=True))
    for entry, target in _progress(pairs, len(pairs), "Writing posts"):
        atomic_write(target, markdown.render_post(entry).encode("utf-8"), force=force)
    logging.getLogger("feedconv").info("wrote %d posts to %s", len(pairs), split_dir)


@cli.command("to-epub")
@FEED_ARG
@click.option(
    "-o",
    "--output",
    metavar="BOOK.epub",
    required=True,
    help="The EPUB file to write (- for stdout).",
)
@click.option("--title", help="Book title (default: the feed's title).")
@click.option("--author", help="Book author (default: the feed's authors).")
@click.option("--language", metavar="CODE", help="Book language, e.g. en or pt-BR.")
@click.option("--newest-first", is_flag=True, help="Put the newest post first.")
@FORCE_OPT
def to_epub(
    feed: str,
    output: str,
    title: str | None,
    author: str | None,
    language: str | None,
    newest_first: bool,
    force: bool,
) -> None:
    """Build an EPUB 3 book: one chapter per post, contents grouped by year and month.

    SOURCE_DATE_EPOCH, when set, fixes the book's modification time.

    \b
    Examples:
      feedconv to-epub examples/openstack.xml -o openstack.epub
      feedconv to-epub https://example.com/feed.xml -o blog.epub --newest-first
    """
    from feedconv.writers._files import atomic_write, check_writable
    from feedconv.writers.epub import BookOptions, build_book

    path = None if output == "-" else Path(output)
    if path is not None:
        check_writable(path, force=force)
    parsed = _load(feed)
    options = BookOptions(
        title=title,
        author=author,
        language=language,
        newest_first=newest_first,
        modified=_source_date_epoch(),
    )
    data = _with_status("Building book", lambda: build_book(parsed, options))
    if path is None:
        stream = sys.stdout.buffer
        stream.write(data)
        stream.flush()
    else:
        atomic_write(path, data, force=force)


def _with_status(label: str, work: Callable[[], T]) -> T:
    ctx = click.get_current_context(silent=True)
    quiet = bool(ctx and ctx.find_root().obj and ctx.find_root().obj.get("quiet"))
    if quiet or not _stderr_is_terminal():
        return work()
    from rich.console import Console

    with Console(file=sys.stderr).status(label):
        return work()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="feedconv")


def run(argv: list[str] | None = None, **extra: Any) -> ExitCode:
    """Run the CLI and turn every outcome into one exit code (errors as one line)."""
    try:
        click.Group.main(cli, args=argv, prog_name="feedconv", standalone_mode=False, **extra)
    except click.exceptions.Exit as exc:
        return ExitCode.OK if exc.exit_code == 0 else ExitCode.USAGE
    except click.Abort:
        click.echo("feedconv: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return ExitCode.USAGE
    except OutputError as exc:
        click.echo(f"feedconv: error: {exc}", err=True)
        return ExitCode.OUTPUT_REFUSED
    except FeedconvError as exc:
        click.echo(f"feedconv: error: {exc}", err=True)
        return ExitCode.INPUT_ERROR
    except KeyboardInterrupt:
        click.echo("feedconv: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return ExitCode.OK
    except RecursionError:
        click.echo("feedconv: error: input is nested too deeply to convert", err=True)
        return ExitCode.INPUT_ERROR
    except MemoryError:
        click.echo("feedconv: error: out of memory", err=True)
        return ExitCode.INPUT_ERROR
    except Exception as exc:
        if os.environ.get("FEEDCONV_DEBUG"):
            raise
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())
        click.echo(
            f"feedconv: internal error: {detail} (set FEEDCONV_DEBUG=1 for a traceback,"
            " and please report it)",
            err=True,
        )
        return ExitCode.INPUT_ERROR
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    return ExitCode.OK


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the exit flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
