"""Keep the objects a process holds for its whole life out of the cyclic garbage collector's passes.

A process that runs Dagster steps holds the code location, Dagster's and the libraries' modules
and the run's set-up until it ends: hundreds of thousands of objects, which every full pass of
the collector walks again, and which the interpreter's shutdown walks once more (0.6-0.9 s of a
refresh's process exiting). :func:`freeze` moves what is alive now to the collector's permanent
generation (``gc.freeze``); what the process makes later is collected as before. Objects frozen
are still freed when their last reference goes; only one caught in a reference cycle after the
freeze stays, so this is called where what is alive is what the process keeps.
"""

import gc


def freeze() -> None:
    """Collect what is garbage now, then freeze everything alive."""
    gc.collect()
    gc.freeze()
