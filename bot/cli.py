"""The `arxiv-digest` command line: parse arguments, build the services, print results."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bot.arxiv_source import parse_arxiv_id
from bot.config import Settings, load_settings
from bot.errors import ConfigError, DigestError
from bot.filters import filter_from_options
from bot.logs import RedactSecrets, configure_logging, describe_crash, install_exception_hooks, settings_secrets
from bot.models import Digest, TranslationStatus
from bot.progress import Progress
from bot.ranking.arrange import MAX_INTEREST, Preferences, arrange, arranged_digest
from bot.ranking.features import paper_vector
from bot.ranking.index import build_index
from bot.ranking.model import learn
from bot.render.json_form import digest_from_json, digest_to_json, item_to_json
from bot.render.markdown import render_digest, render_paper
from bot.runtime import open_runtime, redis_store
from bot.service import DigestOutcome, DigestService
from bot.transfer import export_subscribers, import_subscribers, parse_export

PROG = "arxiv-digest"
TRANSLATIONS_OFF = (
    "translations are off: set LLM_BASE_URL, LLM_API_KEY and LLM_MODEL for Chinese titles, summaries and abstracts"
)
FORMATS = ("markdown", "json")
FAILED_NOTE = " failed: "  # how the service notes a paper whose translation failed: "<id> failed: <reason>"


def program_version() -> str:
    """The installed package's version."""
    try:
        return version(PROG)
    except PackageNotFoundError:
        return "unknown (not installed)"


def _split_list(text: str) -> list[str]:
    """Split a comma-separated option value, dropping empty parts."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _positive(text: str) -> int:
    """A whole number of at least 1 (an argparse type)."""
    if not (text.isascii() and text.isdigit() and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its subcommands."""
    parser = argparse.ArgumentParser(prog=PROG, description="A daily arXiv digest with Chinese translations.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {program_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    digest = sub.add_parser("digest", help="print the digest of arXiv's latest announcement")
    digest.add_argument(
        "--categories", type=_split_list, default=[], help="comma-separated, e.g. cs.LG,stat.ML (default: all of arXiv)"
    )
    digest.add_argument(
        "--keywords", type=_split_list, default=[], help='comma-separated, e.g. "diffusion,uncertainty"'
    )
    digest.add_argument("--format", choices=FORMATS, default="markdown")
    digest.add_argument("--output", type=Path, help="write to FILE instead of standard output")
    digest.add_argument("--include-replacements", action="store_true", help="also keep replaced (revised) papers")
    digest.add_argument("--interest", default="", help="rank by what you want, in words (at most 500 characters)")
    digest.add_argument("--like", type=_split_list, default=[], help="rank papers like these first: ID[,ID...]")
    digest.add_argument("--dislike", type=_split_list, default=[], help="rank papers like these last: ID[,ID...]")
    digest.add_argument("--limit", type=_positive, help="keep only the N best papers")

    paper = sub.add_parser("paper", help="print one paper's full bilingual abstract")
    paper.add_argument("id", help="an arXiv id or URL, e.g. 2402.03478")
    paper.add_argument("--format", choices=FORMATS, default="markdown")

    sub.add_parser("run", help="run the chat bot on every platform whose token is set, with daily deliveries")
    sub.add_parser("worker", help="run one more delivery worker (scale out: any number can share the queue)")
    sub.add_parser("chat", help="talk to the bot in this terminal (no token needed)")

    sub.add_parser("export", help="print every subscription as JSON (for moving to another server)")
    importer = sub.add_parser("import", help="load subscriptions from an export file")
    importer.add_argument("file", type=Path, help="a file written by `arxiv-digest export`")

    dead = sub.add_parser("dead-letters", help="list deliveries that kept failing (and unreadable subscriptions)")
    dead.add_argument("--requeue", action="store_true", help="put every dead letter back on the delivery queue")

    render = sub.add_parser("render", help="render a digest in the JSON form (see README) as Markdown")
    render.add_argument("--format", choices=FORMATS, default="markdown")
    render.add_argument("--input", type=Path, help="read FILE instead of standard input")
    return parser


def write_output(text: str, output: Path | None) -> None:
    """Print text, or write it to a file atomically so a failure never leaves half a digest."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    directory = output.resolve().parent
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=directory, delete=False, suffix=".tmp") as tmp:
        tmp.write(text)
    os.replace(tmp.name, output)


def note(message: str) -> None:
    """Tell the user something on standard error, one line."""
    print(f"{PROG}: {message}", file=sys.stderr)


def render_as(digest: Digest, fmt: str) -> str:
    """The digest in the requested output format."""
    return digest_to_json(digest) if fmt == "json" else render_digest(digest)


class FailureTally:
    """Progress of a translation run that collects why papers failed instead of printing a line for each."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self.reasons: Counter[str] = Counter()

    def start(self, total: int) -> None:
        """Announce how many papers will be translated."""
        self._progress.start(total)

    def step(self, note: str = "") -> None:
        """Count one paper, keeping the reason of a failure for the summary."""
        if FAILED_NOTE in note:
            self.reasons[note.partition(FAILED_NOTE)[2]] += 1
        self._progress.step()

    def summary(self) -> list[str]:
        """One line per distinct reason: `<reason>: translations failed for N papers`."""
        return [f"{reason}: translations failed for {n} paper{'s' * (n != 1)}" for reason, n in self.reasons.items()]


async def ranked(service: DigestService, outcome: DigestOutcome, args: argparse.Namespace) -> DigestOutcome:
    """The outcome's digest ranked by --interest, --like and --dislike and cut to --limit (unchanged without them)."""
    if not (args.interest or args.like or args.dislike or args.limit):
        return outcome
    if len(args.interest) > MAX_INTEREST:
        raise DigestError(f"--interest is {len(args.interest)} characters long; at most {MAX_INTEREST}")
    liked = [paper_vector(await service.find_paper(parse_arxiv_id(i))) for i in args.like]
    disliked = [paper_vector(await service.find_paper(parse_arxiv_id(i))) for i in args.dislike]
    prefs = Preferences(
        limit=args.limit,
        interest=args.interest,
        profile=learn(liked, disliked),
        likes=len(liked),
        dislikes=len(disliked),
    )
    papers = [item.paper for item in outcome.digest.items]
    arranged = arrange(papers, build_index(outcome.listing.papers) if prefs.ranks else None, prefs)
    if arranged.more:
        if arranged.more == 1:
            note("1 more paper matched; without --limit it is kept")
        else:
            note(f"{arranged.more} more papers matched; without --limit they are all kept")
    if arranged.why:
        note(arranged.why.split(" · ", 1)[-1])
    return replace(outcome, digest=arranged_digest(outcome.digest, arranged))


async def run_digest(args: argparse.Namespace, settings: Settings) -> int:
    """`digest`: fetch, filter, translate and print the latest announcement's digest."""
    topic = filter_from_options(args.categories, args.keywords)
    if settings.llm is None:
        note(TRANSLATIONS_OFF)
    tally = FailureTally(Progress(sys.stderr, "translating"))
    if settings.log_level != "DEBUG":
        logging.getLogger("bot.translate").setLevel(logging.ERROR)  # failures are summarised below, not per paper
    async with open_runtime(settings) as runtime:
        outcome = await runtime.service.latest_digest(
            [topic],
            runtime.service.feed_categories([topic]),
            include_replacements=args.include_replacements,
            progress=tally,
        )
        matched = len(outcome.digest.items)
        outcome = await ranked(runtime.service, outcome, args)
    cats = ", ".join(topic.categories) or "all of arXiv"
    if outcome.listing.empty:
        note(f"arXiv's latest listing for {cats} is empty (no announcements on Fridays, Saturdays and holidays)")
    elif not outcome.digest.items:
        note(f"arXiv announced {outcome.announced} papers in {cats}; none matched your keywords")
    else:
        failed = sum(1 for item in outcome.digest.items if item.status is TranslationStatus.FAILED)
        note(
            f"{len(outcome.digest.items)} of {outcome.announced} announced papers kept; {failed} not translated"
            if failed
            else f"{len(outcome.digest.items)} of {outcome.announced} announced papers kept"
        )
    if outcome.digest.items or args.format == "json":
        write_output(render_as(outcome.digest, args.format), args.output)
    for line in tally.summary():
        note(line)
    every_one_failed_alike = len(tally.reasons) == 1 and sum(tally.reasons.values()) == matched
    return 1 if every_one_failed_alike else 0


async def run_paper(args: argparse.Namespace, settings: Settings) -> int:
    """`paper`: print one paper's bilingual abstract."""
    if settings.llm is None:
        note(TRANSLATIONS_OFF)
    async with open_runtime(settings) as runtime:
        item = await runtime.service.paper(args.id)
    if args.format == "json":
        write_output(json.dumps(item_to_json(item), ensure_ascii=False, indent=2) + "\n", None)
    else:
        write_output(render_paper(item), None)
    return 0


async def run_export(args: argparse.Namespace, settings: Settings) -> int:
    """`export`: every subscription as JSON on standard output."""
    async with redis_store(settings) as store:
        write_output(await export_subscribers(store), None)
    return 0


async def run_import(args: argparse.Namespace, settings: Settings) -> int:
    """`import FILE`: load subscriptions, checking the whole file before writing anything."""
    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DigestError(f"cannot read {args.file}: {exc}") from None
    parse_export(text)
    async with redis_store(settings) as store:
        count = await import_subscribers(store, text)
    note(f"imported {count} subscriptions")
    return 0


async def run_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    """`dead-letters [--requeue]`: one line per dead letter (chat, day, reason), optionally re-queued."""
    async with redis_store(settings) as store:
        state = store.delivery
        letters = await state.dead_letters()
        lines = [f"{d.get('chat', '?')}\t{d.get('day', '?')}\t{d.get('reason', '')}" for d in letters]
        lines += [
            f"{chat}\t-\tunreadable subscription: {why}" for chat, why in (await store.broken_subscribers()).items()
        ]
        write_output("".join(line + "\n" for line in lines), None)
        if args.requeue:
            note(f"requeued {await state.requeue_dead_letters()} dead letters")
        elif not lines:
            note("no dead letters")
    return 0


def run_render(args: argparse.Namespace) -> int:
    """`render`: turn a digest in the JSON form into Markdown (or normalised JSON)."""
    try:
        text = args.input.read_text(encoding="utf-8") if args.input else sys.stdin.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise DigestError(f"cannot read {args.input or 'standard input'}: {exc}") from None
    write_output(render_as(digest_from_json(text), args.format), None)
    return 0


Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]
COMMANDS: dict[str, Command] = {  # the commands of the core; `run`, `worker` and `chat` come from arxiv_digest/
    "digest": run_digest,
    "paper": run_paper,
    "export": run_export,
    "import": run_import,
    "dead-letters": run_dead_letters,
}


def silence_stdout() -> None:
    """Point standard output at /dev/null after its reader went away (`arxiv-digest chat | head`)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None, commands: Mapping[str, Command]) -> int:
    """Parse `argv` and run its command from `commands` (arxiv_digest.main adds the chat platforms'); the exit status.

    Every failure ends as one line on standard error (with LOG_LEVEL=DEBUG an unexpected one adds its
    traceback) and a non-zero status (2 for a bad setting), with every secret the settings hold masked.
    """
    args = build_parser().parse_args(argv)
    redact, debug = RedactSecrets(()), False
    try:
        if args.command == "render":
            return run_render(args)
        settings = load_settings()
        redact, debug = RedactSecrets(settings_secrets(settings)), settings.log_level == "DEBUG"
        install_exception_hooks(redact, debug=debug)
        configure_logging(settings)
        return asyncio.run(commands[args.command](args, settings))
    except ConfigError as exc:  # a bad setting: exit 2, the status of a usage error
        note(f"error: {redact.redact(str(exc))}")
        return 2
    except DigestError as exc:
        note(f"error: {redact.redact(str(exc))}")
        return 1
    except KeyboardInterrupt:
        note("interrupted")
        return 130
    except BrokenPipeError:
        silence_stdout()
        return 0
    except Exception as exc:
        note(f"error: {describe_crash(exc, redact, debug=debug)}")
        return 1
