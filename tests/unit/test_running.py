"""A serving command ends even when a library leaves a task behind that ignores cancellation."""

import subprocess
import sys
import textwrap

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
