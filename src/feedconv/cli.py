"""The command line: options, I/O, progress and errors. No conversion logic lives here."""

from __future__ import annotations

import enum
import functools
import itertools
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ClassVar, TypeVar

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


def _progress(items: Iterable[T], total: int | None, label: str) -> Iterator[T]:
    """Iterate with a transient rich progress bar on stderr, only on a terminal.
    ``total=None`` (a streamed input) counts without a bar."""
    ctx = click.get_current_context(silent=True)
    quiet = bool(ctx and ctx.find_root().obj and ctx.find_root().obj.get("quiet"))
    if quiet or (total is not None and total < 2) or not _stderr_is_terminal():
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
    from feedconv.writers._files import atomic_write_chunks, check_writable

    path = Path(output)  # type: ignore[arg-type]
    check_writable(path, force=force)
    atomic_write_chunks(path, (chunk.encode("utf-8") for chunk in chunks), force=force)


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


READ_CHUNK = 64  # items per task when a pool reads a feed file
# Commands that convert read in their pool from this many processes on. Reading and
# cleaning a post takes about a quarter of the time its conversion takes, so below
# four processes the main process keeps up with the pool by itself, and reading in the
# pool (serializing and parsing each item twice, pickling it back) only adds work.
CONVERTING_READS_IN_POOL = 4

FORCE_OPT = click.option("--force", is_flag=True, help="Overwrite existing output files.")
JOBS_OPT = click.option(
    "-j",
    "--jobs",
    metavar="N",
    type=click.IntRange(min=1),
    default=None,
    help="Use N processes (default: all cores; small feeds use one).",
)


# --- feed inputs and selection, shared by every command -------------------------------
# One decorator, `feed_input`, gives a command its FEED... arguments and the options
# for sources, selection and state. It reads and merges the feeds, selects entries and
# calls the command with `feed` = one Feed. Nothing selected: a note, exit 0, no output.
# The state file is written only after the command returned, i.e. its output is written.


class _PipeClosed(Exception):
    """stdout's reader went away (e.g. ``| head``): exit quietly with 0."""


def _now() -> datetime:
    """The one place that reads the clock (relative dates, state bookkeeping)."""
    return datetime.now(UTC)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "feedconv" / "http"


class _Size(click.ParamType):
    """A byte count: 1000, 64K, 200M, 1G (powers of 1024)."""

    name = "SIZE"
    _UNITS: ClassVar[dict[str, int]] = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int):
            return value
        text = str(value).strip().upper().removesuffix("B")
        unit = text[-1:] if text[-1:] in self._UNITS else ""
        number = text[: len(text) - len(unit)]
        try:
            size = int(float(number) * self._UNITS[unit])
        except ValueError:
            self.fail(f"{value!r} is not a size such as 200M or 1G", param, ctx)
        if size <= 0:
            self.fail("the size must be positive", param, ctx)
        return size


class _When(click.ParamType):
    name = "DATE"

    def __init__(self, *, end: bool) -> None:
        self.end = end

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        from feedconv.select import parse_when

        try:
            return parse_when(str(value), _now(), end=self.end)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


_INPUT_PARAMS = (
    "feeds", "opml", "strict", "state", "since", "until", "limit", "categories",
    "select_author", "match", "order", "undated", "no_cache", "timeout", "max_size",
    "unescape_twice", "quiet", "verbose",
)  # fmt: skip


def feed_input(
    *,
    author_flags: tuple[str, ...] = ("--author", "--by-author"),
    state: bool = True,
    stream: bool = False,
    read_in_pool: int | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command FEED... plus the source, selection and state options.

    ``author_flags``: to-epub uses ``--author`` for the book's author, so there the
    filter is only ``--by-author``. ``state=False`` leaves out ``--state`` (info) and
    keeps an empty selection (no "nothing to do" short cut). ``stream=True``: the
    command also receives ``entries``, an iterator that streams one local feed file
    item by item when nothing needs the whole feed (no merge, state or date order).
    ``read_in_pool=N``: the command has ``--jobs``, and with at least N processes a
    streamed file's items are read (body cleaning included) in the pool, the one the
    command converts in if it has one (``parallel.ordered_map`` shares it).
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            options = {name: kwargs.pop(name, None) for name in _INPUT_PARAMS}
            _apply_verbosity(options["quiet"], options["verbose"])
            mapper = None
            if read_in_pool is not None and _job_count(kwargs["jobs"]) >= read_in_pool:
                # Reading an item costs a fraction of converting a post: bigger chunks
                # keep each task about as long, and the pool's cost per item small.
                mapper = _mapper(kwargs["jobs"], chunk=READ_CHUNK)
            streamed = _open_stream(options, mapper) if stream else None
            if streamed is not None:
                head, entries = streamed
                first = next(entries, None)
                if first is None:
                    _note("no items match the selection; nothing written")
                    return None
                kwargs["entries"] = itertools.chain([first], entries)
                prepared: tuple[Any, Callable[[], None]] | None = (head, lambda: None)
            else:
                prepared = _prepare(options, skip_empty=state)
            if prepared is None:
                return None
            feed, commit = prepared
            if stream and "entries" not in kwargs:
                kwargs["entries"] = iter(feed.entries)
            try:
                result = command(feed=feed, **kwargs)
            except BrokenPipeError:
                # The reader stopped early: not a failure, but not a complete output
                # either (no state update). Raised as a non-OSError so that click's own
                # EPIPE handling (exit 1) does not get it first.
                raise _PipeClosed() from None
            commit()
            return result

        decorators = [
            click.argument("feeds", metavar="FEED...", nargs=-1),
            click.option(
                "--opml",
                metavar="FILE",
                multiple=True,
                help="Also read every feed listed in this OPML file (path, - or URL).",
            ),
            click.option(
                "--strict", is_flag=True, help="Stop when a feed cannot be read (default: warn)."
            ),
        ]
        if state:
            decorators.append(
                click.option(
                    "--state",
                    metavar="FILE",
                    type=click.Path(dir_okay=False, path_type=Path),
                    help="Only items new or changed since the last run with this state file.",
                )
            )
        decorators += [
            click.option(
                "--since",
                type=_When(end=False),
                help="Only items from DATE on: 2024-05-31, 2024-05, 2024, or 12h, 7d, 2w ago.",
            ),
            click.option(
                "--until", type=_When(end=True), help="Only items up to DATE (inclusive)."
            ),
            click.option(
                "--limit",
                type=click.IntRange(min=0),
                metavar="N",
                help="At most N items (the first N in --order).",
            ),
            click.option(
                "--category",
                "categories",
                metavar="TAG",
                multiple=True,
                help="Only items tagged TAG, in any case (repeatable: any of them).",
            ),
            click.option(
                *author_flags,
                "select_author",
                metavar="NAME",
                help="Only items by an author whose name or email contains NAME.",
            ),
            click.option(
                "--match", metavar="TEXT", help="Only items whose title or text contains TEXT."
            ),
            click.option(
                "--order",
                type=click.Choice(["newest", "oldest", "feed"]),
                default="feed",
                show_default=True,
                help="Item order (feed: as each feed lists them, feed after feed).",
            ),
            click.option(
                "--undated",
                type=click.Choice(["keep", "drop"]),
                default="keep",
                show_default=True,
                help="Keep or drop items that have no date.",
            ),
            click.option(
                "--no-cache", is_flag=True, help="Fetch URLs afresh (no conditional GET)."
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=0.1),
                default=30.0,
                metavar="SECONDS",
                show_default=True,
                help="Network timeout per URL.",
            ),
            click.option(
                "--max-size",
                type=_Size(),
                default="512M",
                metavar="SIZE",
                show_default=True,
                help="Refuse an input larger than SIZE (bytes, or with K, M, G).",
            ),
            click.option(
                "--unescape-twice",
                is_flag=True,
                help="Read bodies whose HTML was escaped twice (tags shown as text) as HTML.",
            ),
            click.option("-q", "--quiet", is_flag=True, help="Only print errors on stderr."),
            click.option("-v", "--verbose", is_flag=True, help="Print more detail on stderr."),
        ]
        for decorator in reversed(decorators):
            wrapper = decorator(wrapper)
        return wrapper

    return decorate


def _local_path(name: str) -> Path | None:
    """The file a FEED names, when it is a local file (a path or a file: URL)."""
    from urllib.parse import unquote, urlsplit

    if name == "-":
        return None
    scheme = urlsplit(name).scheme.lower()
    if scheme == "file":
        return Path(unquote(urlsplit(name).path))
    if "://" in name:
        return None
    return Path(name)


def _open_stream(options: dict[str, Any], mapper: Any = None) -> tuple[Any, Iterator[Any]] | None:
    """Stream one local feed file with lazy selection, or None when the command must
    read the whole input (several feeds, OPML, stdin, a URL, --state, a date order)."""
    from feedconv.readers.stream import stream_feed
    from feedconv.select import Order, Selection, Undated, iter_filtered

    names = list(options["feeds"] or ())
    order = options["order"] or "feed"
    if len(names) != 1 or options["opml"] or options.get("state") or order != "feed":
        return None
    path = _local_path(names[0])
    if path is None or not path.is_file():
        return None
    try:
        head, entries = stream_feed(
            path,
            max_bytes=options["max_size"],
            unescape_twice=bool(options["unescape_twice"]),
            mapper=mapper,
        )
    except InputError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise InputError(f"{names[0]}: {exc}") from None
    selection = Selection(
        since=options["since"],
        until=options["until"],
        limit=options["limit"],
        categories=tuple(options["categories"] or ()),
        author=options["select_author"],
        match=options["match"],
        order=Order.FEED,
        undated=Undated(options["undated"] or "keep"),
    )
    chosen = iter_filtered(_named_errors(names[0], entries), selection)
    if selection.limit is not None:
        chosen = itertools.islice(chosen, max(selection.limit, 0))
    return head, chosen


def _named_errors(name: str, entries: Iterator[Any]) -> Iterator[Any]:
    """Errors raised while streaming name the feed, like errors raised while reading."""
    try:
        yield from entries
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None


def _apply_verbosity(quiet: bool | None, verbose: bool | None) -> None:
    if not (quiet or verbose):
        return
    ctx = click.get_current_context()
    root = ctx.find_root()
    root.obj = {**(root.obj or {}), "quiet": bool(quiet)}
    _setup_logging(-1 if quiet else 1)


def _note(message: str) -> None:
    """A line for the user that is neither a warning nor an error (silenced by -q)."""
    ctx = click.get_current_context(silent=True)
    if not (ctx and ctx.find_root().obj and ctx.find_root().obj.get("quiet")):
        click.echo(f"feedconv: {message}", err=True)


def _prepare(options: dict[str, Any], *, skip_empty: bool) -> tuple[Any, Callable[[], None]] | None:
    """Read, merge and select. None when nothing is left to convert (a note said so)."""
    from dataclasses import replace

    from feedconv.merge import gather, merge_feeds
    from feedconv.readers import read_feed
    from feedconv.readers.opml import read_opml
    from feedconv.select import Order, Selection, Undated, select_entries
    from feedconv.sources import DEFAULT_MAX_BYTES, Source, load
    from feedconv.state import read_state, write_state

    cache = None if options["no_cache"] else _cache_dir()
    timeout = float(options["timeout"] or 30.0)

    max_bytes = options["max_size"] or DEFAULT_MAX_BYTES

    def fetch(name: str) -> Source:
        return load(name, timeout=timeout, cache_dir=cache, max_bytes=max_bytes)

    def parse(source: Source) -> Any:
        try:
            return read_feed(
                source.data,
                source.url,
                http_charset=source.charset,
                unescape_twice=bool(options["unescape_twice"]),
            )
        except InputError as exc:
            raise InputError(f"{source.name}: {exc}") from None

    names = list(options["feeds"] or ())
    if "-" in names and "-" in (options["opml"] or ()):
        raise click.UsageError("standard input (-) can be read only once: as FEED or --opml")
    for listing in options["opml"] or ():
        source = fetch(listing)
        base = source.url or (None if listing == "-" else Path(listing).resolve().as_uri())
        try:
            names += [s.url for s in read_opml(source.data, base)]
        except InputError as exc:
            raise InputError(f"{source.name}: {exc}") from None
    names = list(dict.fromkeys(names))
    if not names:
        raise click.UsageError("Missing argument 'FEED...': give at least one FEED or --opml FILE.")
    label = f"Reading {len(names)} feeds" if len(names) > 1 else "Reading the feed"
    parts = _with_status(label, lambda: gather(names, fetch, parse, strict=bool(options["strict"])))
    merged = merge_feeds(parts)
    selection = Selection(
        since=options["since"],
        until=options["until"],
        limit=options["limit"],
        categories=tuple(options["categories"] or ()),
        author=options["select_author"],
        match=options["match"],
        order=Order(options["order"] or "feed"),
        undated=Undated(options["undated"] or "keep"),
    )
    state_path: Path | None = options["state"]
    state = read_state(state_path) if state_path else None
    feed_name = merged.title
    keep = (lambda e: state.is_new_or_changed(e, feed_name)) if state is not None else None
    chosen = select_entries(merged.entries, selection, keep=keep)
    if skip_empty and not chosen and merged.entries:
        if state is not None and selection.filters:
            _note("nothing new that matches the selection since the last run; nothing written")
        elif state is not None:
            _note("nothing new since the last run; nothing written")
        else:
            _note("no items match the selection; nothing written")
        return None

    def commit() -> None:
        if state is not None and state_path is not None:
            today = _now().date()
            write_state(state_path, state.after(chosen, merged.entries, feed_name, today))

    return replace(merged, entries=tuple(chosen)), commit


@click.group(cls=FeedconvGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="feedconv")
@click.option("-q", "--quiet", is_flag=True, help="Only print errors on stderr.")
@click.option("-v", "--verbose", is_flag=True, help="Print more detail on stderr.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, verbose: bool) -> None:
    """Convert web feeds (RSS, Atom, JSON Feed) to Markdown, EPUB or JSON Feed.

    FEED is a file path, - for standard input, or an http(s) or file URL; give
    several, or --opml FILE, to merge feeds (each post once). The format is detected
    from the content. Every command takes the same selection options (--since,
    --limit, --category, ...) and --state FILE to convert only what is new. Data goes
    to stdout, messages to stderr.

    \b
    Examples:
      feedconv to-epub examples/openstack.xml -o openstack.epub
      feedconv to-md https://example.com/feed.xml --split posts/
      feedconv to-json feed.xml | jq '.items[].title'
      feedconv to-epub --opml subscriptions.opml --state seen.json --since 2d -o today.epub
    """
    ctx.obj = {"quiet": quiet}
    _setup_logging(-1 if quiet else (1 if verbose else 0))


@cli.command("to-json")
@click.option(
    "-o", "--output", metavar="FILE", help="Write to FILE instead of stdout (- for stdout)."
)
@click.option("--lines", is_flag=True, help="One JSON item per line (JSON Lines) instead.")
@FORCE_OPT
@JOBS_OPT
@feed_input(stream=True, read_in_pool=2)
def to_json(
    feed: Any,
    entries: Iterator[Any],
    output: str | None,
    lines: bool,
    force: bool,
    jobs: int | None,  # the items are read in that many processes (feed_input)
) -> None:
    """Print the feed as JSON Feed 1.1, items in document order.

    \b
    Examples:
      feedconv to-json examples/openstack.xml
      feedconv to-json feed.xml --lines | grep -i python
      feedconv to-json feed.xml | jq '.items |= .[:3]' | feedconv to-epub - -o top3.epub
    """
    from feedconv.writers import jsonfeed

    chunks = jsonfeed.dump_lines(entries) if lines else jsonfeed.iter_document(feed, entries)
    _write_text_output(output, chunks, force)


@cli.command("to-md")
@click.option(
    "-o", "--output", metavar="FILE", help="Write one document to FILE instead of stdout."
)
@click.option(
    "--split",
    "split_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one file per post into DIR instead. Files that did not change are left"
    " alone; a changed post replaces its file only with --force.",
)
@click.option(
    "--flavor",
    type=click.Choice(["gfm", "commonmark", "obsidian"]),
    default="gfm",
    show_default=True,
    help="Markdown dialect: GitHub (tables, footnotes, alerts), plain CommonMark, or"
    " Obsidian (==marks==, callouts, ![[image]] embeds of downloaded images).",
)
@click.option(
    "--front-matter",
    "front_matter",
    type=click.Choice(["yaml", "toml", "json", "none"]),
    default="yaml",
    show_default=True,
    help="With --split: front matter format of each post.",
)
@click.option(
    "--front-matter-fields",
    "fields",
    metavar="LIST",
    help="With --split: comma-separated fields to write, from title, date, updated,"
    " author, link, id, tags, summary, image (default: all a post has).",
)
@click.option(
    "--filename",
    "template",
    metavar="TEMPLATE",
    default="{date:%Y-%m-%d}-{slug}.md",
    show_default=True,
    help="With --split: file name of each post inside DIR, from {slug}, {date:FORMAT},"
    " {year}, {month}, {day} and {index}; e.g. '{date:%Y}/{date:%m}/{slug}.md' or"
    " '{slug}/index.md'.",
)
@click.option(
    "--images",
    type=click.Choice(["remote", "download"]),
    default="remote",
    show_default=True,
    help="With --split: link images where they are, or download them next to each"
    " post and link the copies (a failed image keeps its remote URL, with a warning).",
)
@click.option(
    "--images-dir",
    metavar="NAME",
    help="With --images download: save all images in this one folder inside DIR.",
)
@click.option(
    "--image-max-size",
    metavar="MB",
    type=click.FloatRange(min=0, min_open=True),
    default=20.0,
    show_default=True,
    help="With --images download: skip larger images.",
)
@click.option(
    "--image-timeout",
    metavar="SECONDS",
    type=click.FloatRange(min=0, min_open=True),
    default=20.0,
    show_default=True,
    help="With --images download: give up on an image after this long.",
)
@click.option(
    "--image-workers",
    metavar="N",
    type=click.IntRange(1, 32),
    default=4,
    show_default=True,
    help="With --images download: images fetched at the same time.",
)
@JOBS_OPT
@FORCE_OPT
@feed_input(stream=True, read_in_pool=CONVERTING_READS_IN_POOL)
def to_md(
    feed: Any,
    entries: Iterator[Any],
    jobs: int | None,
    output: str | None,
    split_dir: Path | None,
    flavor: str,
    front_matter: str,
    fields: str | None,
    template: str,
    images: str,
    images_dir: str | None,
    image_max_size: float,
    image_timeout: float,
    image_workers: int,
    force: bool,
) -> None:
    """Convert the feed to Markdown: one document, or one file per post.

    With --split, a second run into the same DIR writes only what changed and says
    so on stderr ("3 written, 7 unchanged").

    \b
    Examples:
      feedconv to-md examples/openstack.xml > openstack.md
      feedconv to-md examples/openstack.xml --split posts/
      feedconv to-md feed.xml --split site/content/posts --filename '{slug}/index.md' \\
          --front-matter toml --images download
      feedconv to-md feed.xml --split vault/ --flavor obsidian --images download --images-dir assets
    """
    from feedconv.writers import markdown

    if output and split_dir:
        raise click.UsageError("use either --output or --split, not both")
    ctx = click.get_current_context()
    split_only = ("front_matter", "fields", "template", "images", "images_dir")
    if split_dir is None:
        for name in split_only:
            if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE:
                raise click.UsageError(f"--{name.replace('_', '-')} needs --split")
    field_list: tuple[str, ...] = markdown.FRONT_MATTER_FIELDS
    if fields is not None:
        field_list = tuple(f.strip() for f in fields.split(",") if f.strip())
        unknown = [f for f in field_list if f not in markdown.FRONT_MATTER_FIELDS]
        if unknown:
            raise click.BadParameter(
                f"unknown field {unknown[0]!r} (choose from"
                f" {', '.join(markdown.FRONT_MATTER_FIELDS)})",
                param_hint="--front-matter-fields",
            )
    if images_dir is not None and images != "download":
        raise click.UsageError("--images-dir needs --images download")
    mapper = _mapper(jobs)
    if split_dir is None:
        chunks = markdown.render_document(
            feed, _progress(entries, None, "Converting"), flavor=flavor, mapper=mapper
        )
        _write_text_output(output, chunks, force)
        return
    options = markdown.PostOptions(front_matter=front_matter, fields=field_list, flavor=flavor)
    if images != "download" and _is_empty_dir(split_dir):
        try:
            markdown.check_template(template)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--filename") from None
        written = _write_split_stream(split_dir, entries, template, options, mapper)
        if not (ctx.find_root().obj or {}).get("quiet"):
            click.echo(f"{written} written, 0 unchanged", err=True)
        return
    from dataclasses import replace

    parsed = replace(feed, entries=tuple(entries))
    from feedconv.writers._files import safe_join

    try:
        names = markdown.post_filenames(parsed.entries, template)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--filename") from None
    if images_dir is not None:
        safe_join(split_dir, images_dir)
    fetched: dict[str, tuple[bytes, str]] = {}
    if images == "download":
        from feedconv.images import fetch_images

        urls = [url for entry in parsed.entries for url in markdown.post_images(entry)]
        got = _with_status(
            "Downloading images",
            lambda: fetch_images(
                urls,
                timeout=image_timeout,
                max_bytes=int(image_max_size * 1024 * 1024),
                workers=image_workers,
            ),
        )
        fetched = {url: (image.data, image.extension) for url, image in got.items()}
    files = markdown.split_files(parsed.entries, names, options, fetched, images_dir)
    targets = [(safe_join(split_dir, name), data) for name, data in files]
    report = markdown.sync_files(
        targets, force=force, progress=lambda items, n: _progress(items, n, "Writing posts")
    )
    if not (ctx.find_root().obj or {}).get("quiet"):
        click.echo(f"{report.written} written, {report.unchanged} unchanged", err=True)


def _job_count(jobs: int | None) -> int:
    """``--jobs``, or every core."""
    from feedconv.parallel import default_jobs

    return jobs or default_jobs()


def _mapper(jobs: int | None, chunk: int | None = None) -> Any:
    """An order-keeping map over posts in ``jobs`` processes (default: every core)."""
    count = _job_count(jobs)
    return functools.partial(_ordered_map, count, chunk) if count > 1 else None


def _ordered_map(
    jobs: int, chunk: int | None, func: Callable[[Any], Any], items: Iterable[Any]
) -> Iterator[Any]:
    from feedconv.parallel import CHUNK, ordered_map

    return ordered_map(func, items, jobs=jobs, chunk=chunk or CHUNK)


def _is_empty_dir(path: Path) -> bool:
    if not path.exists():
        return True
    return path.is_dir() and not path.is_symlink() and next(path.iterdir(), None) is None


def _write_split_stream(
    root: Path, entries: Iterator[Any], template: str, options: Any, mapper: Any
) -> int:
    """One file per post into a new or empty folder, post by post: nothing to compare
    with, so nothing is held but the posts being converted."""
    from feedconv.writers import markdown
    from feedconv.writers._files import atomic_write, safe_join

    for_names, for_files = itertools.tee(entries)
    names = markdown.iter_post_filenames(for_names, template)
    convert = functools.partial(markdown.post_file, options)
    files = (mapper or map)(convert, for_files)
    written = 0
    for name, data in _progress(zip(names, files, strict=True), None, "Writing posts"):
        atomic_write(safe_join(root, name), data)
        written += 1
    return written


class _Pixels(click.ParamType):
    name = "WxH"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        from feedconv.images import parse_size

        try:
            return parse_size(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


_KINDLE_IMAGE_SIZE = (1264, 1680)


@cli.command("to-epub")
@click.option(
    "-o",
    "--output",
    metavar="BOOK.epub",
    required=True,
    help="The EPUB file to write (- for stdout).",
)
@click.option("--title", help="Book title (default: the feed's title).")
@click.option(
    "--author",
    help="The book's author, as e-readers show it (default: the feed's authors). To"
    " select posts by author, use --by-author.",
)
@click.option("--language", metavar="CODE", help="Book language, e.g. en or pt-BR.")
@click.option("--publisher", help="Book publisher (default: the site's host name).")
@click.option(
    "--cover",
    metavar="IMAGE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Cover image file (default: a cover made from the title, dates and site).",
)
@click.option("--no-cover", is_flag=True, help="Make a book without a cover.")
@click.option(
    "--toc",
    type=click.Choice(["year", "month", "day", "flat"]),
    default="year",
    show_default=True,
    help="Contents: year → month → post, month → post, day → post, or posts only."
    " Posts of several feeds get a section per feed first.",
)
@click.option("--newest-first", is_flag=True, help="Put the newest post first.")
@click.option(
    "--images",
    type=click.Choice(["embed", "link", "drop"]),
    default="embed",
    show_default=True,
    help="Copy images into the book, link them on the web, or leave them out. An image"
    " that cannot be embedded becomes a link, with a warning.",
)
@click.option(
    "--max-image-size",
    type=_Pixels(),
    metavar="WxH",
    help="Scale larger images down to fit WIDTHxHEIGHT pixels, e.g. 1264x1680.",
)
@click.option(
    "--max-image-mb",
    metavar="MB",
    type=click.FloatRange(min=0, min_open=True),
    default=20.0,
    show_default=True,
    help="Skip (link) images larger than this as downloaded.",
)
@click.option(
    "--max-book-mb",
    metavar="MB",
    type=click.FloatRange(min=0, min_open=True),
    default=200.0,
    show_default=True,
    help="Embed images until they take this much space; link the rest.",
)
@click.option(
    "--image-timeout",
    metavar="SECONDS",
    type=click.FloatRange(min=0, min_open=True),
    default=20.0,
    show_default=True,
    help="Give up on an image after this long.",
)
@click.option(
    "--image-workers",
    metavar="N",
    type=click.IntRange(1, 32),
    default=8,
    show_default=True,
    help="Images fetched at the same time.",
)
@click.option(
    "--profile",
    type=click.Choice(["default", "kindle"]),
    default="default",
    show_default=True,
    help="kindle: images scaled to 1264x1680 unless --max-image-size says otherwise, and"
    " SVG images linked rather than embedded (Kindles often show no SVG).",
)
@click.option(
    "--css",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A stylesheet to add after the book's own.",
)
@JOBS_OPT
@FORCE_OPT
@feed_input(author_flags=("--by-author",), stream=True, read_in_pool=CONVERTING_READS_IN_POOL)
def to_epub(
    feed: Any,
    entries: Iterator[Any],
    jobs: int | None,
    output: str,
    title: str | None,
    author: str | None,
    language: str | None,
    publisher: str | None,
    cover: Path | None,
    no_cover: bool,
    toc: str,
    newest_first: bool,
    images: str,
    max_image_size: tuple[int, int] | None,
    max_image_mb: float,
    max_book_mb: float,
    image_timeout: float,
    image_workers: int,
    profile: str,
    css: Path | None,
    force: bool,
) -> None:
    """Build an EPUB 3 book: a cover, a title page, contents grouped by date and one
    chapter per post, with its images embedded and its footnotes as pop-up notes.

    SOURCE_DATE_EPOCH, when set, fixes the book's modification time. Images are
    fetched once and kept in $XDG_CACHE_HOME/feedconv/images (--no-cache: not used);
    relative image paths in a local feed file are read from the feed's folder.

    \b
    Examples:
      feedconv to-epub examples/openstack.xml -o openstack.epub
      feedconv to-epub https://example.com/feed.xml -o blog.epub --newest-first --toc month
      feedconv to-epub feed.xml -o kindle.epub --profile kindle --cover cover.jpg
    """
    from feedconv.writers._files import atomic_file, check_writable
    from feedconv.writers.epub import BookOptions, build_book, write_book

    if cover is not None and no_cover:
        raise click.UsageError("use either --cover or --no-cover, not both")
    path = None if output == "-" else Path(output)
    if path is not None:
        check_writable(path, force=force)
    params = click.get_current_context().params
    cover_data = _read_option_file(cover, "--cover") if cover is not None else None
    css_text = None
    if css is not None:
        try:
            css_text = _read_option_file(css, "--css").decode("utf-8")
        except UnicodeDecodeError:
            raise click.BadParameter(
                "the stylesheet is not UTF-8 text", param_hint="--css"
            ) from None
    if max_image_size is None and profile == "kindle":
        max_image_size = _KINDLE_IMAGE_SIZE
    options = BookOptions(
        title=title,
        author=author,
        language=language,
        publisher=publisher,
        newest_first=newest_first,
        modified=_source_date_epoch(),
        toc=toc,
        images=images,
        image_timeout=image_timeout,
        max_image_bytes=int(max_image_mb * 1024 * 1024),
        max_book_image_bytes=int(max_book_mb * 1024 * 1024),
        image_workers=image_workers,
        max_image_size=max_image_size,
        svg=profile != "kindle",
        base_dir=_local_feed_folder(params),
        image_cache=None if params.get("no_cache") else _cache_dir().parent / "images",
        cover=cover_data,
        generate_cover=not no_cover,
        css=css_text,
    )
    # A single feed file is read item by item (never whole, as a tree) while the pool
    # converts the posts already read; the book sorts them by date once all are in.
    mapper = _mapper(jobs)
    if path is None:  # a pipe cannot seek: the book is built in memory, then written
        data = _with_status(
            "Building book",
            lambda: build_book(feed, options, mapper=mapper, entries=entries),
        )
        stream = sys.stdout.buffer
        stream.write(data)
        stream.flush()
    else:
        with atomic_file(path, force=force) as handle:
            _with_status(
                "Building book",
                lambda: write_book(feed, handle, options, mapper=mapper, entries=entries),
            )


def _read_option_file(path: Path, option: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise click.BadParameter(
            f"cannot read {path} ({exc.strerror or exc})", param_hint=option
        ) from None


def _local_feed_folder(params: dict[str, Any]) -> Path | None:
    """The folder of the one local feed file being read, for relative image paths."""
    feeds = list(params.get("feeds") or ())
    if len(feeds) != 1 or params.get("opml") or feeds[0] == "-":
        return None
    name = feeds[0]
    if name.lower().startswith("file://"):
        from urllib.parse import unquote, urlsplit

        name = unquote(urlsplit(name).path)
    elif "://" in name:
        return None
    return Path(name).resolve().parent


@cli.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON, for scripts.")
@feed_input(state=False)
def info(feed: Any, as_json: bool) -> None:
    """Show a feed at a glance: title, format, site, items, dates, authors, categories,
    and posts per month.

    \b
    Examples:
      feedconv info examples/openstack.xml
      feedconv info https://example.com/feed.xml --json | jq .per_month
    """
    import json

    from feedconv.summary import summarize

    summary = summarize(feed)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
        return
    _show_summary(summary)


_CHART_MONTHS = 24
_CHART_WIDTH = 30


def _show_summary(summary: Any) -> None:
    """The summary as a rich table on stdout (colours follow NO_COLOR and the terminal)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    def when(value: datetime | None) -> str:
        return f"{value:%Y-%m-%d}" if value else "-"

    def ranked(pairs: Iterable[tuple[str, int]], limit: int = 5) -> str:
        pairs = list(pairs)
        shown = ", ".join(f"{name} ({count})" for name, count in pairs[:limit])
        more = len(pairs) - limit
        return shown + (f", and {more} more" if more > 0 else "") if shown else "-"

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("Title", Text(summary.title or "-"))
    table.add_row("Format", summary.format or "-")
    if summary.home_page_url:
        table.add_row("Site", Text(summary.home_page_url))
    if summary.feed_url:
        table.add_row("Feed", Text(summary.feed_url))
    items = f"{summary.items}" + (f" ({summary.undated} undated)" if summary.undated else "")
    table.add_row("Items", items)
    table.add_row("Dates", f"{when(summary.first)} to {when(summary.last)}")
    if summary.sources:
        table.add_row("Feeds", Text(ranked(summary.sources, limit=10)))
    table.add_row("Authors", Text(ranked(summary.authors)))
    table.add_row("Categories", Text(ranked(summary.categories, limit=10)))
    console = Console(highlight=False)
    console.print(table)
    months = list(summary.per_month)[-_CHART_MONTHS:]
    if not months:
        return
    tallest = max(count for _, count in months) or 1
    chart = Table.grid(padding=(0, 1))
    chart.add_column()
    chart.add_column(justify="right")
    chart.add_column(style="cyan")
    for month, count in months:
        bar = "█" * max(round(count * _CHART_WIDTH / tallest), 1 if count else 0)
        chart.add_row(month, str(count), bar)
    span = "" if len(summary.per_month) <= _CHART_MONTHS else f" (last {_CHART_MONTHS})"
    console.print()
    console.print(Text(f"Posts per month{span}", style="bold"))
    console.print(chart)


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
    except (BrokenPipeError, _PipeClosed):
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
