"""How well the interviewer routes the phrasing corpora: ``python -m tests.corpora.evaluate``.

Each corpus is ``question<TAB>expected`` (a topic name, ``OFF_TOPIC``, ``YOUR_CALL`` or ``BROAD``; several
acceptable topics separated by ``|``; a line that starts with ``#`` and has no tab is a comment).
``tuning_<session>.tsv`` was looked at while the matcher was built (in three batches: the later two were
measured fresh before any change they prompted); ``heldout_<session>.tsv`` was written before the matcher
existed and never tuned against: only its totals were looked at, never its misses.

An outcome is *right* when the reply is the expected one (the expected topic answered, "your call" for a
decision, "nothing on that" for an off-topic question), *confidently wrong* when a topic that is not
expected is answered, and neither when the interviewer asks for something more specific or declines.

Options: ``--failures`` lists the tuning corpus's misses (the held-out misses are shown only with
``--heldout-failures``, once the work is done).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from course.interviewer import Clarification, ask

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "course" / "data"
SESSIONS = ("session1_chat", "session2_url_shortener", "session3_netflix")
PARTS = ("tuning", "heldout")


def clarifications(session: str) -> tuple[Clarification, ...]:
    """The session's clarifications as the course loads them: the TOML's answers filled with the sample's
    figures, paraphrases and your-call examples included."""
    from course.content import load_session

    return load_session(session).clarifications


def corpus(session: str, part: str) -> list[tuple[str, frozenset[str]]]:
    rows = []
    for line in (HERE / f"{part}_{session}.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or (line.startswith("#") and "\t" not in line):
            continue
        question, expected = line.split("\t")
        rows.append((question, frozenset(expected.strip().split("|"))))
    return rows


@dataclass
class Result:
    session: str
    part: str
    n: int = 0
    right: int = 0
    confidently_wrong: int = 0
    unclear: int = 0
    misses: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.right / self.n

    @property
    def wrong_rate(self) -> float:
        return self.confidently_wrong / self.n


def outcome(question: str, expected: frozenset[str], items) -> tuple[str, str]:
    """("right" | "wrong" | "unclear" | "other", what the interviewer did)."""
    reply = ask(question, items)
    if reply.kind == "answer":
        said = "+".join(reply.topics)
        return ("right" if set(reply.topics) <= expected else "wrong"), said
    said = {"your_call": "YOUR_CALL", "off_topic": "OFF_TOPIC", "broad": "BROAD"}.get(reply.kind, reply.kind.upper())
    if said in expected:
        return "right", said
    return ("unclear" if reply.kind == "unclear" else "other"), f"{said} (closest: {', '.join(reply.candidates)})"


def evaluate(session: str, part: str) -> Result:
    items = clarifications(session)
    result = Result(session, part)
    for question, expected in corpus(session, part):
        verdict, said = outcome(question, expected, items)
        result.n += 1
        result.right += verdict == "right"
        result.confidently_wrong += verdict == "wrong"
        result.unclear += verdict == "unclear"
        if verdict != "right":
            result.misses.append((question, "|".join(sorted(expected)), said))
    return result


def table(results: list[Result]) -> str:
    lines = [f"{'session':<24}{'corpus':<9}{'questions':>10}{'right':>9}{'conf. wrong':>13}{'unclear':>9}"]
    for r in results:
        lines.append(f"{r.session:<24}{r.part:<9}{r.n:>10}{r.accuracy:>9.1%}{r.wrong_rate:>13.1%}"
                     f"{r.unclear / r.n:>9.1%}")
    for part in PARTS:
        rs = [r for r in results if r.part == part]
        if rs:
            n = sum(r.n for r in rs)
            lines.append(f"{'all sessions':<24}{part:<9}{n:>10}{sum(r.right for r in rs) / n:>9.1%}"
                         f"{sum(r.confidently_wrong for r in rs) / n:>13.1%}{sum(r.unclear for r in rs) / n:>9.1%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", action="store_true", help="list the tuning corpus's misses")
    parser.add_argument("--heldout-failures", action="store_true", help="list the held-out corpus's misses too")
    parser.add_argument("--part", choices=PARTS, action="append", help="only this corpus (repeatable)")
    args = parser.parse_args(argv)
    results = [evaluate(s, p) for p in (args.part or PARTS) for s in SESSIONS]
    print(table(results))
    for r in results:
        if (r.part == "tuning" and args.failures) or (r.part == "heldout" and args.heldout_failures):
            print(f"\n{r.session} {r.part}: {len(r.misses)} misses")
            for question, expected, said in r.misses:
                print(f"  {question!r:<70} expected {expected:<22} got {said}")


if __name__ == "__main__":
    main()
