"""Entry point: runs the CLI and turns every error into one line and a non-zero exit."""
from __future__ import annotations

import os
import sys


def main() -> None:
    from facecluster.cli import main as cli
    from facecluster.errors import FaceclusterError

    try:
        cli(standalone_mode=False)
    except FaceclusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume from the cache", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click's usage errors and the unexpected
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):  # click's form of Ctrl-C
            print("interrupted; rerun the same command to resume from the cache", file=sys.stderr)
            sys.exit(130)
        if os.environ.get("FACECLUSTER_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (set FACECLUSTER_DEBUG=1 for a traceback)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
