import io

from services.dlq import Progress, select
from services.dlq_table import one_line, preview, render_letters, replay_summary, summary
from shared import topics
from shared.letters import ParkedLetter

HOTLINE = topics.INBOUND_HOTLINE


def parked(dlq_offset: int, value: bytes = b'{"external_id": "RX-1"}', *, truncated: bool = False,
           topic: str = HOTLINE, error: str = "ValidationError: description: Field required") -> ParkedLetter:
    return ParkedLetter(dlq_partition=0, dlq_offset=dlq_offset, key=None, value=value, topic=topic, partition="1",
                        offset=str(40 + dlq_offset), consumer="intake", error=error, truncated=truncated,
                        original_size=2_100_000 if truncated else len(value))


class TestRender:
    def test_one_line_per_letter_under_a_header(self):
        table = render_letters([parked(0), parked(1, "噪".encode() * 10, truncated=True)])
        header, first, second = table.splitlines()
        assert header.split() == ["ID", "TOPIC", "PARTITION", "OFFSET", "CONSUMER", "CUT", "DOWN", "ERROR", "VALUE"]
        assert first.split()[:6] == ["0:0", HOTLINE, "1", "40", "intake", "no"]
        assert "yes, of 2.1 MB" in second and "噪噪噪" in second
        assert first.index("ValidationError") == second.index("ValidationError")

    def test_hostile_text_stays_on_one_line_and_escaped(self):
        assert preview(b"\x00\xffline1\nline2\x1b[31m") == "\\x00\\xffline1\\nline2\\x1b[31m"
        assert preview("南后街\u202e噪音".encode()) == "南后街\\u202e噪音"
        assert one_line("ValidationError: 1 error\n  description\n\tField required", 60) == (
            "ValidationError: 1 error description Field required")

    def test_long_text_is_shortened_to_the_columns(self):
        assert preview(b"x" * 10_000, 20) == "x" * 19 + "…"
        assert preview("噪".encode() * 100, 20) == "噪" * 9 + "…"

    def test_summaries(self):
        assert summary([]) == "no letters on the dead-letter topic."
        assert summary([parked(0), parked(1, truncated=True)]) == (
            "2 letters on the dead-letter topic, 1 cut down (not replayable).")
        assert replay_summary(1, 0, 0) == "replayed 1 letter."
        assert replay_summary(0, 1, 2) == "replayed 0 letters; skipped 1 that cannot be replayed; 2 not found."


class TestSelect:
    def test_by_id_keeps_order_drops_repeats_and_names_what_is_missing(self):
        letters = [parked(0), parked(1), parked(2)]
        chosen = select(letters, ["0:2", "0:0", "0:2", "5:5"], every=False)
        assert [letter.id for letter in chosen.letters] == ["0:2", "0:0"]
        assert chosen.not_found == ["5:5"]

    def test_cut_down_letters_and_unknown_topics_are_never_replayed(self):
        letters = [parked(0), parked(1, truncated=True), parked(2, topic="billing.events"),
                   parked(3, topic=topics.DEAD_LETTERS)]
        chosen = select(letters, [], every=True)
        assert [letter.id for letter in chosen.letters] == ["0:0"]
        assert [(letter.id, reason.split(" (")[0]) for letter, reason in chosen.refused] == [
            ("0:1", "it was cut down"), ("0:2", "its original topic 'billing.events' is not one this system consumes"),
            ("0:3", "its original topic 'appeal.dlq' is not one this system consumes")]


def test_progress_speaks_only_on_long_runs_and_at_most_once_a_second():
    out = io.StringIO()
    Progress("replaying", out=out)(5, 10)
    assert out.getvalue() == ""
    every_call = Progress("replaying", out=out, every_seconds=0)
    every_call(5, 10)
    every_call(10, 10)
    assert out.getvalue() == "replaying 5/10…\nreplaying 10/10…\n"
