"""Entry point: runs the CLI and turns every error into one line and a non-zero exit."""
from __future__ import annotations

import os
import signal
import sys
from typing import NoReturn

INTERRUPTED = "interrupted; rerun the same command to resume from the cache"


def _on_sigint(signum: int, frame) -> None:
    from facecluster.errors import note_interrupt

    note_interrupt()
    signal.default_int_handler(signum, frame)  # raises KeyboardInterrupt


def _exit_interrupted() -> NoReturn:
    print(INTERRUPTED, file=sys.stderr)
    sys.exit(130)


def main() -> None:
    from facecluster.cli import main as cli
    from facecluster.errors import FaceclusterError, interrupted

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where SIGINT is ignored
        signal.signal(signal.SIGINT, _on_sigint)
    try:
        cli(standalone_mode=False)
    except KeyboardInterrupt:
        _exit_interrupted()
    except SystemExit:
        if interrupted():
            _exit_interrupted()
        raise
    except FaceclusterError as exc:
        if interrupted():  # an interrupt that an import turned into an error
            _exit_interrupted()
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:  # click's usage errors and the unexpected
        import click

        if interrupted():
            _exit_interrupted()
        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):  # click's form of Ctrl-C
            _exit_interrupted()
        if os.environ.get("FACECLUSTER_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (set FACECLUSTER_DEBUG=1 for a traceback)", file=sys.stderr)
        sys.exit(1)
    if interrupted():  # a Ctrl-C that Python swallowed (raised inside a finaliser, which only prints it): still stop as one
        _exit_interrupted()


if __name__ == "__main__":
    main()
