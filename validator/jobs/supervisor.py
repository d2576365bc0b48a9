"""The job runner in a child process at idle CPU priority (``VALIDATOR_JOB_PROCESS=true``).

Why: in the service's own process a running job competes with real-time validations for one
event loop (and one GIL, and one garbage collector); yielding every millisecond of CPU helps,
but the loop is then busy all the time, and the operating system treats a busy thread as one
more CPU hog: measured, it was preempted for milliseconds by whatever else ran on its CPU. In
a child process under ``SCHED_IDLE`` (Linux; ``nice`` 10 where that is refused) the job only
gets CPU no other task wants: a real-time request that wakes the service preempts it at once,
and the service's loop stays an idle, quickly woken one. The child builds the same
runner as the in-process mode (``build_runner``) on its own store, resolver and MX cache;
it dies with its parent (``PR_SET_PDEATHSIG``: a kill -9 of the service leaves no orphan
working on), and on SIGTERM it stops and releases its leased chunks. If it dies on its own,
the service starts another (``RunnerChild``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import logging
import multiprocessing
import os
import signal
import time
from multiprocessing.connection import Connection

from validator.checker import Checker
from validator.config import Settings
from validator.jobs.callbacks import CallbackSender, notify_finished
from validator.jobs.runner import JobRunner
from validator.priority import RealtimeGate
from validator.runtime import open_services, settle_heap
from validator.store import Store
from validator.wire.jobs import result_line

JOB_NICE = 10
RESTART_SECONDS = 5.0  # a child that lived shorter than this waits as long before its successor starts
PR_SET_PDEATHSIG = 1
log = logging.getLogger("validator.jobs.runner")


def build_runner(settings: Settings, store: Store, checker: Checker, gate: RealtimeGate | None = None) -> JobRunner:
    """The runner both modes use: the API's result lines, signed callbacks on completion; in the
    service's process it shares the handlers' ``gate``, so its slices wait for validations."""
    sender = CallbackSender(settings.job_callback_secret, settings.job_callback_allow)
    return JobRunner(
        settings, store, checker, result_line, on_finished=functools.partial(notify_finished, store, sender), gate=gate
    )


class RunnerChild:
    """The child process, started again when it dies (an OOM kill, a crash), and a pipe to wake it
    when a job is queued here (else it looks for work every ``VALIDATOR_JOB_POLL_SECONDS``).

    Must be made and stopped inside the running loop: the loop watches the child's sentinel.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._loop = asyncio.get_running_loop()
        self._restart: asyncio.TimerHandle | None = None
        self._start()

    def _start(self) -> None:
        self._restart = None
        context = multiprocessing.get_context("spawn")
        receive, self._send = context.Pipe(duplex=False)
        self.process = context.Process(target=_main, args=(self._settings, os.getpid(), receive), name="validator-jobs")
        self.process.start()
        receive.close()
        os.set_blocking(self._send.fileno(), False)
        self._started = time.monotonic()
        self._loop.add_reader(self.process.sentinel, self._died)

    def _died(self) -> None:
        """Its chunks come back when their leases run out; a new child picks them up then. One that
        dies young waits ``RESTART_SECONDS`` first, so a child that cannot start does not spin."""
        self._loop.remove_reader(self.process.sentinel)
        self.process.join(0)
        self._send.close()
        if self.process.exitcode == 0:  # it stopped on SIGTERM: sent to the whole group, the service stops too
            log.info("the job runner process stopped")
            return
        young = time.monotonic() - self._started < RESTART_SECONDS
        log.error(
            "the job runner process exited (code %s); starting another%s",
            self.process.exitcode,
            f" in {RESTART_SECONDS:g} s" if young else "",
        )
        self._restart = self._loop.call_later(RESTART_SECONDS if young else 0, self._start)

    def wake(self) -> None:
        """One byte down the pipe; a full pipe already holds a wake-up the child has not read (and
        a closed one belongs to a dead child: its successor looks for work as it starts)."""
        with contextlib.suppress(OSError):
            os.write(self._send.fileno(), b"w")

    async def stop(self, timeout: float) -> None:
        """SIGTERM (the child releases its chunks), then SIGKILL after ``timeout`` seconds."""
        if self._restart is not None:  # dead, waiting to start again: stay dead
            self._restart.cancel()
            return
        self._loop.remove_reader(self.process.sentinel)
        process = self.process
        process.terminate()
        await self._loop.run_in_executor(None, process.join, timeout)
        if process.is_alive():
            process.kill()
            await self._loop.run_in_executor(None, process.join, 5)
        self._send.close()


def _main(settings: Settings, parent: int, wakes: Connection) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        return
    os.nice(JOB_NICE)
    with contextlib.suppress(OSError, AttributeError):  # Linux: run only when no normal task wants the CPU
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(_serve(settings, wakes.fileno()))


async def _serve(settings: Settings, wakes: int) -> None:
    # No key filter: a job's lookups come in chunks that SQLite answers in one query each, and a
    # second filter would double the memory and the start-up scan (17.8 MiB and 22 s at 5M).
    async with open_services(settings, key_filters=False) as services:
        settle_heap()
        runner = build_runner(settings, services.store, services.checker)
        task = asyncio.create_task(runner.run())
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        loop.add_reader(wakes, _woken, loop, wakes, runner)
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _woken(loop: asyncio.AbstractEventLoop, wakes: int, runner: JobRunner) -> None:
    if os.read(wakes, 4096):
        runner.wake()
    else:  # the parent closed its end (it is dying; so will this process)
        loop.remove_reader(wakes)
