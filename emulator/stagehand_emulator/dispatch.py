"""moto's request dispatch, without the work it repeats on every request.

Two lookups in moto's dispatch cost about 2 ms of a 3-5 ms request, and their answers never
change while an emulator runs:
  * `backends.list_of_moto_modules()` lists moto's package directory (os.listdir and an isdir
    per entry, ~170) to route each request by host;
  * `method_names_from_class(cls)` runs inspect.getmembers over a response class for each
    request, to find the action's method.
The first is cached for the process (the zygote restarts when the installed moto changes);
the second per class, computed on its first request, after every fidelity patch is in place
(install() runs before serving). Behaviour is unchanged; the emulator answers faster, which is
what every test and the benchmark wait on.
"""

import functools

_installed = False


def install():
    global _installed
    if _installed:
        return
    _installed = True
    from moto import backends
    from moto.core import responses

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    responses.method_names_from_class = functools.lru_cache(maxsize=None)(
        responses.method_names_from_class
    )
