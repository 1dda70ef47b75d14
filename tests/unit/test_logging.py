"""The log mask on its own: whatever a log line carries, no mobile number is written in full."""

import io
import json

import structlog

from shared.logging import configure_logging

FULL = "13800000001"
MASKED = "138****0001"


def logged(**fields) -> dict:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    try:
        with structlog.contextvars.bound_contextvars(citizen=f"王女士 {FULL}"):
            structlog.get_logger().warning(f"回电 {FULL}", **fields)
    finally:
        structlog.contextvars.clear_contextvars()
    return json.loads(stream.getvalue())


def test_every_value_of_a_line_is_masked_however_deep():
    line = logged(description=f"楼下施工，请回电 {FULL}", problems=[{"error": "address: 南后街 138 0000 0001"}],
                  detail={"note": f"已联系 +86 {FULL}", "count": 3}, numbers=(FULL,))
    text = json.dumps(line, ensure_ascii=False)
    assert FULL not in text and "138 0000 0001" not in text
    assert line["event"] == f"回电 {MASKED}" and line["citizen"] == f"王女士 {MASKED}"
    assert line["problems"] == [{"error": "address: 南后街 138 **** 0001"}]
    assert line["detail"] == {"note": f"已联系 +86 {MASKED}", "count": 3}
    assert line["numbers"] == [MASKED]


def test_an_exception_message_is_masked():
    stream = io.StringIO()
    configure_logging("INFO", stream)
    try:
        raise ValueError(f"citizen_phone {FULL} is not valid")
    except ValueError:
        structlog.get_logger().exception("report_refused")
    assert FULL not in stream.getvalue() and MASKED in stream.getvalue()
