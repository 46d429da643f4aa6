"""Hydro Deploy's way to end a config script::

    if __name__ == "__main__":
        import sys
        import hydro.async_wrapper
        hydro.async_wrapper.run(main, sys.argv[1:])

hydro evaluates a script as ``__main__``, so this block runs under ``hydro
run`` and ``hydro deploy`` too: there it runs ``main(args)`` once, in
place, and hydro does not call ``main`` again.  Under plain python3 it is
:func:`hydro.run`: hydro's options are read from the command line.
"""

from typing import Any, Callable, Optional, Sequence

__all__ = ["run"]


def run(main: Callable[..., Any], args: Optional[Sequence[str]] = None) -> None:
    """Run ``main`` (``async def main(args)``) as :func:`hydro.run` does."""
    from . import run as _run
    _run(main, args)
