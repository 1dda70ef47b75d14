import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared import topics
from shared.letters import (
    MAX_ERROR_CHARS,
    MAX_LETTER_BYTES,
    PREFIX_BYTES,
    error_text,
    parse_letter_id,
    read_letter,
    write_letter,
)


class Report(BaseModel):
    description: str
    lat: float | None = None


def letter_for(value: bytes, key: bytes | None = None, error: BaseException | None = None):
    return write_letter(topic=topics.INBOUND_HOTLINE, partition=2, offset=17, key=key, value=value,
                        consumer="intake", error=error or ValueError("分类未知"))


class TestWriteLetter:
    def test_a_letter_that_fits_keeps_every_byte(self):
        letter = letter_for(b"\x00\xffnot json", key=b"case-1")
        assert (letter.key, letter.value) == (b"case-1", b"\x00\xffnot json")
        assert letter.headers == {"dlq_topic": topics.INBOUND_HOTLINE, "dlq_partition": "2", "dlq_offset": "17",
                                  "dlq_consumer": "intake", "dlq_error": "ValueError: 分类未知"}

    def test_a_value_too_big_to_park_whole_is_cut_to_a_prefix_and_says_so(self):
        value = "噪".encode() * 700_000
        letter = letter_for(value, key=b"case-1")
        assert letter.value == value[:PREFIX_BYTES]
        assert letter.key == b"case-1"
        assert letter.headers["dlq_truncated"] == "true"
        assert letter.headers["dlq_original_size"] == str(len(value))

    def test_a_huge_key_is_cut_too(self):
        letter = letter_for(b"{}", key=b"k" * 2_000_000)
        assert len(letter.key or b"") == 1024
        assert letter.headers["dlq_original_key_size"] == "2000000"

    @given(st.integers(min_value=0, max_value=3_000_000), st.integers(min_value=0, max_value=3_000_000))
    def test_no_letter_is_bigger_than_kafka_takes_and_an_uncut_one_is_whole(self, value_size, key_size):
        letter = letter_for(b"v" * value_size, key=b"k" * key_size)
        size = len(letter.key or b"") + len(letter.value) + sum(len(k) + len(v.encode())
                                                                for k, v in letter.headers.items())
        assert size <= MAX_LETTER_BYTES
        if "dlq_truncated" not in letter.headers:
            assert (len(letter.value), len(letter.key or b"")) == (value_size, key_size)


class TestErrorText:
    def test_a_validation_error_names_the_fields_on_one_line(self):
        with pytest.raises(ValidationError) as caught:
            Report.model_validate({"lat": "north"})
        assert error_text(caught.value) == ("ValidationError: description: Field required; "
                                            "lat: Input should be a valid number, unable to parse string as a number")

    def test_is_capped(self):
        text = error_text(RuntimeError("x" * 1_000_000))
        assert len(text) == MAX_ERROR_CHARS and text.endswith("…")


class TestReadLetter:
    def test_reads_what_was_written(self):
        written = letter_for("噪".encode() * 700_000, key=b"case-1")
        parked = read_letter(3, 9, written.key, written.value, [(k, v.encode()) for k, v in written.headers.items()])
        assert parked.id == "3:9"
        assert (parked.topic, parked.partition, parked.offset, parked.consumer) == (
            topics.INBOUND_HOTLINE, "2", "17", "intake")
        assert parked.truncated and parked.original_size == 2_100_000

    def test_a_letter_without_headers_still_reads(self):
        parked = read_letter(0, 0, None, None, [])
        assert (parked.topic, parked.error, parked.truncated, parked.original_size) == ("?", "", False, 0)


@pytest.mark.parametrize("text", ["", "2", "2:", ":17", "a:b", "2:17:1", "-1:3"])
def test_a_letter_id_is_partition_colon_offset(text):
    with pytest.raises(ValueError, match="2:17"):
        parse_letter_id(text)
    assert parse_letter_id(" 2:17 ") == (2, 17)
