r"""``python -m core.zoo.fetch``: download the pretrained models ahead of class (``make weights``).

::

    python -m core.zoo.fetch                 # the recommended set for a classroom of CPUs (smallest first)
    python -m core.zoo.fetch --set all       # every model the app can use (a GPU server)
    python -m core.zoo.fetch --only sam_vit_b fcn_resnet50
    python -m core.zoo.fetch --list          # what there is, what is cached, where, licences
    python -m core.zoo.fetch --lang ro       # the same, in Romanian

Each file gets a progress bar (bytes done / total, MB/s), redrawn in place on a terminal and written as a
new line every 10 % otherwise (a log, CI). The end is a table of what was downloaded, already cached or
failed, each failure explained with the sentence the page "Get ready for class" shows; the exit status is
1 when anything failed. The files land in the libraries' own caches (``TORCH_HOME``, ``HF_HOME``);
``TORCHVISION_MIRROR`` and ``HF_ENDPOINT`` point the downloads at a local mirror. Everything it does is
:mod:`core.zoo.catalogue`, the same code as the page's buttons.
"""
from __future__ import annotations

import argparse
import sys
from typing import TextIO

from core import lessons
from core.zoo import catalogue

BAR = 24  # characters of a text progress bar


def _bar(fraction: float) -> str:
    full = int(round(fraction * BAR))
    return "[" + "#" * full + "." * (BAR - full) + "]"


class TextBars:
    """Progress of each file as text: one line redrawn in place on a terminal, a line per 10 % elsewhere."""

    def __init__(self, lang: str, out: TextIO, tty: bool):
        self.W = lessons.texts("weights_common", lang)
        self.out, self.tty = out, tty
        self.file, self.step, self.width = None, -1, 0

    def line(self, p: catalogue.FileProgress) -> str:
        mb = dict(file=p.file, done=p.done / 2**20, speed=p.speed / 2**20)
        if p.total:
            return f"{_bar(p.fraction)} {lessons.number(100 * p.fraction, '3.0f', self.W.lang)} %  " + \
                self.W("progress_line", total=p.total / 2**20, **mb)
        return self.W("progress_line_unknown", **mb)

    def __call__(self, p: catalogue.FileProgress) -> None:
        if p.file != self.file:
            self.end()
            self.file, self.step = p.file, -1
        step = int(10 * p.fraction) if p.total else -1
        if self.tty:
            text = "  " + self.line(p)
            self.out.write("\r" + text.ljust(self.width))
            self.width = len(text)
        elif step > self.step:
            self.out.write("  " + self.line(p) + "\n")
        self.step = max(self.step, step)
        self.out.flush()

    def end(self) -> None:
        """Finish the line being redrawn (on a terminal)."""
        if self.tty and self.file is not None:
            self.out.write("\n")
            self.out.flush()
        self.file = None


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    fmt = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, rows)])


def list_catalogue(lang: str, out: TextIO) -> None:
    rows = catalogue.rows(lang)
    header = list(rows[0])
    out.write(_table(header, [list(r.values()) for r in rows]) + "\n")


def run(selected: list[catalogue.Entry], lang: str, out: TextIO, tty: bool) -> int:
    """Fetch ``selected`` in order, with progress, then the summary; 1 when anything failed."""
    T = lessons.texts("get_ready", lang)
    todo = [e for e in selected if not catalogue.state(e).cached]
    out.write(T("cli_start", n=len(selected), cached=len(selected) - len(todo),
                mb=catalogue.size_to_fetch(todo)) + "\n")
    bars = TextBars(lang, out, tty)
    outcomes = []
    for e in selected:
        out.write(T("cli_model", label=e.label, name=e.key, mb=e.size_mb) + "\n")
        out.flush()
        outcome = catalogue.fetch(e, bars)
        bars.end()
        out.write("  " + T(f"status_{outcome.status}") + "\n")
        outcomes.append(outcome)
    by_key = {e.key: e for e in selected}
    out.write("\n" + T("cli_summary") + "\n")
    header = [T("col_key"), T("col_model"), T("col_size"), T("col_outcome"), T("col_seconds")]
    rows = [[o.key, by_key[o.key].label, lessons.number(by_key[o.key].size_mb, ".1f", lang), T(f"status_{o.status}"),
             lessons.number(o.seconds, ".1f", lang)] for o in outcomes]
    out.write(_table(header, rows) + "\n")
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        out.write(f"\n{o.key}: {catalogue.sentence(o, lang)}\n")
    out.write("\n" + (T("cli_failed", n=len(failed)) if failed else T("cli_all_ready")) + "\n")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.zoo.fetch", description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=catalogue.SETS, default="cpu",
                        help="cpu: the recommended set for a classroom without GPUs (default); all: every model")
    parser.add_argument("--only", nargs="+", metavar="KEY", help="these models only (see --list for the keys)")
    parser.add_argument("--list", action="store_true", help="show the catalogue and what is cached, download nothing")
    parser.add_argument("--lang", choices=lessons.LANGUAGES, default="en", help="the language of the messages")
    args = parser.parse_args(argv)
    if args.list:
        list_catalogue(args.lang, sys.stdout)
        return 0
    if args.only:
        known = {e.key for e in catalogue.entries()}
        unknown = [k for k in args.only if k not in known]
        if unknown:
            parser.error(f"unknown model {', '.join(unknown)}; valid names are {', '.join(sorted(known))}")
        selected = [catalogue.entry(k) for k in args.only]
    else:
        selected = catalogue.members(args.set)
    return run(selected, args.lang, sys.stdout, sys.stdout.isatty())


if __name__ == "__main__":
    sys.exit(main())
