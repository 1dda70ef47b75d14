"""A serving command ends even when a library leaves a task behind that ignores cancellation,
and stops cleanly on SIGTERM or SIGINT however it was started."""

import signal
import subprocess
import sys
import textwrap

import pytest

STUBBORN = textwrap.dedent("""
    import asyncio
    from services.running import run_to_the_end

    async def deaf():
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                pass

    async def main():
        asyncio.get_running_loop().create_task(deaf(), name="deaf-client")
        await asyncio.sleep(0.05)
        print("main done", flush=True)

    run_to_the_end(main(), grace_seconds=0.5)
""")

POLITE = textwrap.dedent("""
    import asyncio
    from services.running import run_to_the_end

    async def main():
        asyncio.get_running_loop().create_task(asyncio.sleep(3600), name="sleeper")
        await asyncio.sleep(0.05)

    run_to_the_end(main())
    print("returned", flush=True)
""")


def test_a_task_that_ignores_cancellation_does_not_keep_the_process_alive():
    ended = subprocess.run([sys.executable, "-c", STUBBORN], capture_output=True, text=True, timeout=30)
    assert ended.returncode == 0, ended.stderr
    assert "main done" in ended.stdout
    assert "deaf-client" in ended.stderr and "did not stop within 0.5 s" in ended.stderr


def test_tasks_that_stop_when_cancelled_end_quietly_and_the_call_returns():
    ended = subprocess.run([sys.executable, "-c", POLITE], capture_output=True, text=True, timeout=30)
    assert ended.returncode == 0, ended.stderr
    assert "returned" in ended.stdout and "did not stop" not in ended.stderr


SERVING = textwrap.dedent("""
    import asyncio
    from services.running import run_to_the_end

    async def main():
        print("serving", flush=True)
        try:
            await asyncio.sleep(3600)
        finally:
            print("stopped cleanly", flush=True)

    try:
        run_to_the_end(main())
    except KeyboardInterrupt:  # as the commands end on Ctrl-C (services/cli.py)
        print("interrupted", flush=True)
""")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_stop_lets_the_work_finish_even_with_sigint_ignored_by_the_starter(stop):
    """A script's background job starts with SIGINT ignored, which Python keeps."""
    process = subprocess.Popen([sys.executable, "-c", SERVING], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert process.stdout is not None and process.stdout.readline() == "serving\n"
    process.send_signal(stop)
    out, err = process.communicate(timeout=30)
    assert out.splitlines()[-2:] == ["stopped cleanly", "interrupted"], err
    assert process.returncode == 0, err
