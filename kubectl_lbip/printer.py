"""The one place that shows a command's result: -o picks a printer from the command's
registry of formats (as kubectl's PrintFlags.ToPrinter does), and the printer writes
the result's data on stdout and its notes on stderr, in order.

A command returns a Result: its data (what json and yaml print), its exit code, the
notes said before any output, and its views (table, wide, name, ...): functions
from the result to blocks (a table, a line of text, a note). Commands never print.

Adding a format to a command: one entry in FORMATS (the command line offers it and
refuses the others from here); a view is a function of the command's module the
result names in ``views``."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Sequence, Union

from . import render
from .errors import EXIT_OK, UsageError


@dataclass(frozen=True)
class Table:
    """Rows under headers; ``fit`` wraps them to the terminal's width (-o wide does
    not); ``severities`` colours the rows' leading severity on a terminal."""

    rows: Sequence[Sequence[Any]]
    headers: Sequence[str]
    fit: bool = True
    severities: bool = False


@dataclass(frozen=True)
class Text:
    """A line (or lines) on stdout. ``heading``: left out with --no-headers;
    ``wrap``: a sentence wrapped as the tables are."""

    text: str
    heading: bool = False
    wrap: bool = False


@dataclass(frozen=True)
class Note:
    """A line for people on stderr (or a table: a plan said beside data on stdout)."""

    text: Union[str, Table]


@dataclass(frozen=True)
class Data:
    """A whole answer as JSON or YAML."""

    data: Any
    fmt: str = "json"


@dataclass(frozen=True)
class Raw:
    """Text on stdout exactly as it is (its own line ends)."""

    text: str


Block = Union[Table, Text, Note, Data, Raw]
View = Callable[["Result"], Iterable[Block]]


@dataclass
class Result:
    """What a command answers: ``data`` for -o json|yaml, the exit ``code``, the
    ``notes`` said before any output and the notes said ``after`` it (whatever the
    format), the ``views`` it can be shown as by name, and ``answer``, what the
    views read beyond the data."""

    data: Any = None
    code: int = EXIT_OK
    notes: List[str] = field(default_factory=list)
    after: List[str] = field(default_factory=list)
    views: Dict[str, View] = field(default_factory=dict)
    answer: Any = None


Printer = Callable[[Result], Iterable[Block]]


def view(name: str) -> Printer:
    """The printer that shows the result's own view ``name``."""
    return lambda result: result.views[name](result)


def data(fmt: str) -> Printer:
    """The result's data as JSON or YAML; a result with its own view of that name
    (migrate -f: the objects as the documents they were read) is shown by it."""

    def show(result: Result) -> Iterable[Block]:
        own = result.views.get(fmt)
        return own(result) if own else [Data(result.data, fmt)]

    return show


# check's formats for CI (cireport.py writes them): the report on stdout, then the
# counts on stderr, as after check's table. ``result.answer`` is check's CheckAnswer
# (the findings, every object checked, where each was read).


def sarif(result: Result) -> Iterable[Block]:
    from . import __version__, cireport

    a = result.answer
    return [Data(cireport.sarif(a.found, a.places, __version__), "json"), Note(a.summary)]


def junit(result: Result) -> Iterable[Block]:
    from . import cireport

    a = result.answer
    return [Text(cireport.junit(a.objects, a.found, a.places, a.strict)), Note(a.summary)]


def github(result: Result) -> Iterable[Block]:
    from . import cireport

    a = result.answer
    return [*(Text(line) for line in cireport.github(a.found, a.places)), Note(a.summary)]


JSON_YAML = {"json": data("json"), "yaml": data("yaml")}
TABLE = {"table": view("table")}
WIDE = {"wide": view("wide")}

# Every command's -o formats, in the order --help lists them: the command line
# offers exactly these, and refuses any other (exit 2).
FORMATS: Dict[str, Dict[str, Printer]] = {
    "pools": {**TABLE, **WIDE, **JSON_YAML, "name": view("name")},
    "free": {**TABLE, **WIDE, **JSON_YAML, "annotation": view("annotation")},
    "who-has": {**TABLE, **WIDE, **JSON_YAML, "name": view("name")},
    "check": {
        **TABLE,
        **JSON_YAML,
        "sarif": sarif,
        "junit": junit,
        "github": github,
    },
    "check --list": {**TABLE, **JSON_YAML},
    "why": {**TABLE, **JSON_YAML},
    "probe": {**TABLE, **JSON_YAML},
    "history": {**TABLE, **WIDE, **JSON_YAML},
    "annotate": {"yaml": data("yaml"), "json": data("json")},
    "migrate": {**TABLE, **JSON_YAML},
    "pin": {**TABLE, **JSON_YAML},
    "version": {**JSON_YAML},
    "completion": {**TABLE},  # no -o: the script, or what was written
}

# --watch: a streaming printer, one line per change (model/watch.py's Change), the
# same formats for the three commands that watch.


def watch_line(change: Any, fmt: str, time: str) -> str:
    """One change of a watch as the line it is printed as (-o json: one JSON object)."""
    if fmt == "json":
        import json

        return json.dumps(change.to_dict(time), separators=(", ", ": "))
    return change.text(time)


def watch_lines(fmt: str) -> Printer:
    """The lines of a batch of changes: ``result.answer`` is (time, changes)."""

    def show(result: Result) -> Iterable[Block]:
        time, changes = result.answer
        return [Text(watch_line(change, fmt, time)) for change in changes]

    return show


WATCH = {"table": watch_lines("table"), "wide": watch_lines("table"), "json": watch_lines("json")}
FORMATS.update({"who-has -w": WATCH, "pools -w": WATCH, "check -w": WATCH})

# What a format needs read beyond what every format of the command reads.
NEEDS: Dict[str, Dict[str, frozenset]] = {
    "pools": {f: frozenset({"advertisements"}) for f in ("wide", "json", "yaml")},
    "check": {f: frozenset({"locations"}) for f in ("sarif", "junit", "github")},
}

# How a format a command's registry lacks is refused where Click has not refused it.
REFUSALS = {
    "check --list": "--list prints a table, json or yaml, not {fmt}",
    **{
        f"{command} -w": "--watch prints a line per change, or with -o json a JSON object per line, not -o {fmt}"
        for command in ("who-has", "pools", "check")
    },
}


def formats(command: str) -> List[str]:
    return list(FORMATS[command])


def needs(command: str, fmt: str) -> frozenset:
    return NEEDS.get(command, {}).get(fmt, frozenset())


def printer_for(command: str, fmt: str) -> Printer:
    """The printer of -o ``fmt`` for ``command`` (PrintFlags.ToPrinter)."""
    found = FORMATS[command].get(fmt)
    if found is None:
        said = REFUSALS.get(command, "unable to match a printer suitable for the output format {fmt!r}")
        raise UsageError(said.format(fmt=fmt))
    return found


def show(command: str, fmt: str, result: Result, no_headers: bool = False) -> int:
    """Print ``result`` as -o ``fmt`` asks; the result's exit code."""
    blocks = printer_for(command, fmt)(result)
    for text in result.notes:
        render.note(text)
    write(blocks, no_headers)
    for text in result.after:
        render.note(text)
    return result.code


def stream(command: str, fmt: str, result: Result, no_headers: bool = False) -> None:
    """One batch of a streaming command's output (--watch): each line written whole,
    then flushed, so a pipe or a file has it at once."""
    show(command, fmt, result, no_headers)
    sys.stdout.flush()


def write(blocks: Iterable[Block], no_headers: bool = False) -> None:
    """Blocks in order: stdout for data, stderr for notes."""
    for block in blocks:
        if isinstance(block, Note):
            said = block.text
            render.note(said if isinstance(said, str) else _table(said, no_headers))
        elif isinstance(block, Table):
            text = _table(block, no_headers)
            render.out(render.severities(text) if block.severities else text)
        elif isinstance(block, Text):
            if block.heading and no_headers:
                continue
            if block.wrap:
                render.sentence(block.text)
            else:
                render.out(block.text)
        elif isinstance(block, Data):
            render.emit(block.data, block.fmt)
        else:
            render.raw(block.text)


@contextmanager
def notes_kept(notes: List[str]) -> Iterator[None]:
    """Around a command's work after it has notes to say: should the work fail, the
    notes gathered so far are said before the error is (as they were said before
    the work began)."""
    try:
        yield
    except BaseException:
        for text in notes:
            render.note(text)
        raise


def names(kind: str, objects: Sequence[Any]) -> List[Block]:
    """-o name: one KIND/NAME line per object, as kubectl prints them."""
    return [Text(f"{kind}/{obj}") for obj in objects]


class Say:
    """How a command talks while it works, where it must: the plan of writes before
    it asks to go on, a backup written, a conflict retried, annotate --wait's
    progress. Injected (Inputs.say); everything else a command says is in its
    Result."""

    def __init__(self, fmt: str = "table", no_headers: bool = False):
        self.fmt, self.no_headers = fmt, no_headers

    def __call__(self, *blocks: Block) -> None:
        write(blocks, self.no_headers)

    def note(self, text: str) -> None:
        render.note(text)

    def progress(self, total: int, verb: str) -> "Progress":
        return Progress(total, verb)

    def plan(self, blocks: Sequence[Block], asking: bool = False) -> None:
        """A plan of writes: the table output (stdout) with -o table; with the data
        formats, said on stderr, and only when someone is asked to confirm it."""
        if self.fmt == "table":
            self(*blocks)
        elif asking:
            self(*as_notes(blocks))


def as_notes(blocks: Iterable[Block]) -> List[Block]:
    """Tables and text said on stderr instead (stdout carries other data)."""
    return [Note(b) if isinstance(b, Table) else Note(b.text) if isinstance(b, Text) else b for b in blocks]


def _table(block: Table, no_headers: bool) -> str:
    return render.table(block.rows, block.headers, fit=block.fit, no_headers=no_headers)


PROGRESS_THRESHOLD = 20  # fewer writes finish before a counter would help


class Progress:
    """A counter on stderr for long runs, only when someone watches it."""

    def __init__(self, total: int, verb: str):
        self.total, self.verb = total, verb
        self.enabled = total > PROGRESS_THRESHOLD and sys.stderr.isatty()

    def step(self, done: int) -> None:
        if self.enabled:
            sys.stderr.write(f"\r{self.verb} {done}/{self.total}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
